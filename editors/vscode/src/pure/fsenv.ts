// The real file system behind discovery.ts's DiscoveryEnv. Node only, no
// `vscode` import.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** An existing regular file that this process may execute (Windows: any existing file). */
export function isExecutableFile(p: string, platform: string = process.platform): boolean {
  try {
    if (!fs.statSync(p).isFile()) {
      return false;
    }
    if (platform !== 'win32') {
      fs.accessSync(p, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * A .vsix is a zip file and the install does not always keep the
 * executable bit of `bin/testgen`: give it back (owner, group, others may
 * read and run it) so that discovery finds the bundled binary. Returns
 * false when there is no bundled binary or it cannot be made executable.
 */
export function ensureBundledExecutable(extensionPath: string, platform: string = process.platform): boolean {
  if (platform === 'win32') {
    return false;
  }
  const bundled = path.join(extensionPath, 'bin', 'testgen');
  try {
    if (!fs.statSync(bundled).isFile()) {
      return false;
    }
    if (!isExecutableFile(bundled, platform)) {
      fs.chmodSync(bundled, 0o755);
    }
    return isExecutableFile(bundled, platform);
  } catch {
    return false;
  }
}
