// Where the testgen binary is: the `testgen.path` setting, else the binary
// bundled in the extension (`bin/testgen`), else `testgen` on PATH. The file
// system and environment come in as parameters so that every branch is
// tested without VS Code. No `vscode` import.

import * as path from 'node:path';

export const INSTALL_URL = 'https://github.com/testgen-dev/testgen#install';

export interface DiscoveryEnv {
  platform: string;
  /** The PATH environment variable. */
  pathVar: string | undefined;
  /** PATHEXT on Windows. */
  pathExt?: string;
  home: string | undefined;
  /** The first workspace folder: a relative `testgen.path` is resolved against it. */
  workspaceFolder: string | undefined;
  extensionPath: string;
  isFile(p: string): boolean;
}

export type Discovery =
  | { kind: 'found'; path: string; source: 'setting' | 'bundled' | 'path' }
  | { kind: 'missing'; message: string };

function pathApi(platform: string): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

function exeNames(env: DiscoveryEnv): string[] {
  if (env.platform !== 'win32') {
    return ['testgen'];
  }
  const exts = (env.pathExt ?? '.EXE;.CMD;.BAT;.COM').split(';').filter((e) => e.length > 0);
  return exts.map((e) => `testgen${e.toLowerCase()}`);
}

/** `~` and relative paths of the `testgen.path` setting. */
export function resolveSetting(configured: string, env: DiscoveryEnv): string | undefined {
  const p = pathApi(env.platform);
  let value = configured.trim();
  if (value === '~' || value.startsWith('~/') || value.startsWith('~\\')) {
    if (!env.home) {
      return undefined;
    }
    value = p.join(env.home, value.slice(1));
  }
  if (p.isAbsolute(value)) {
    return p.normalize(value);
  }
  return env.workspaceFolder ? p.resolve(env.workspaceFolder, value) : undefined;
}

export function findServer(configured: string | undefined | null, env: DiscoveryEnv): Discovery {
  const p = pathApi(env.platform);
  if (configured && configured.trim().length > 0) {
    const resolved = resolveSetting(configured, env);
    if (resolved && env.isFile(resolved)) {
      return { kind: 'found', path: resolved, source: 'setting' };
    }
    // A wrong setting is not silently replaced by another binary.
    return {
      kind: 'missing',
      message: resolved
        ? `testgen.path is set to "${configured}", but ${resolved} does not exist.`
        : `testgen.path is set to "${configured}", a relative path, but no workspace folder is open to resolve it against.`,
    };
  }
  for (const name of exeNames(env)) {
    const bundled = p.join(env.extensionPath, 'bin', name);
    if (env.isFile(bundled)) {
      return { kind: 'found', path: bundled, source: 'bundled' };
    }
  }
  const dirs = (env.pathVar ?? '').split(p.delimiter).filter((d) => d.length > 0);
  for (const dir of dirs) {
    for (const name of exeNames(env)) {
      const candidate = p.join(dir, name);
      if (env.isFile(candidate)) {
        return { kind: 'found', path: candidate, source: 'path' };
      }
    }
  }
  return {
    kind: 'missing',
    message:
      'The testgen language server was not found: testgen.path is not set, the extension has no bundled binary and there is no testgen on PATH.',
  };
}
