import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { findServer, type DiscoveryEnv } from '../src/pure/discovery';
import { ensureBundledExecutable, isExecutableFile } from '../src/pure/fsenv';

function env(files: string[], over: Partial<DiscoveryEnv> = {}): DiscoveryEnv {
  const set = new Set(files);
  return {
    platform: 'linux',
    pathVar: '/usr/local/bin:/usr/bin',
    home: '/home/me',
    workspaceFolder: '/work/proj',
    extensionPath: '/ext',
    isFile: (p) => set.has(p),
    ...over,
  };
}

describe('findServer', () => {
  it('uses testgen.path when it exists', () => {
    assert.deepEqual(findServer('/opt/testgen', env(['/opt/testgen', '/ext/bin/testgen'])), {
      kind: 'found',
      path: '/opt/testgen',
      source: 'setting',
    });
  });

  it('does not fall back to another binary when testgen.path is wrong', () => {
    const d = findServer('/opt/nope', env(['/ext/bin/testgen', '/usr/bin/testgen']));
    assert.equal(d.kind, 'missing');
    assert.match(d.kind === 'missing' ? d.message : '', /testgen\.path is set to "\/opt\/nope", but \/opt\/nope does not exist/);
  });

  it('resolves a relative testgen.path against the workspace folder and ~ against home', () => {
    assert.deepEqual(findServer('target/release/testgen', env(['/work/proj/target/release/testgen'])), {
      kind: 'found',
      path: '/work/proj/target/release/testgen',
      source: 'setting',
    });
    assert.deepEqual(findServer('~/.cargo/bin/testgen', env(['/home/me/.cargo/bin/testgen'])), {
      kind: 'found',
      path: '/home/me/.cargo/bin/testgen',
      source: 'setting',
    });
  });

  it('explains a relative testgen.path without a workspace folder', () => {
    const d = findServer('bin/testgen', env([], { workspaceFolder: undefined }));
    assert.equal(d.kind, 'missing');
    assert.match(d.kind === 'missing' ? d.message : '', /relative path, but no workspace folder is open/);
  });

  it('prefers the bundled binary over PATH', () => {
    assert.deepEqual(findServer(undefined, env(['/ext/bin/testgen', '/usr/bin/testgen'])), {
      kind: 'found',
      path: '/ext/bin/testgen',
      source: 'bundled',
    });
  });

  it('searches PATH in order, ignoring empty entries; a blank setting counts as unset', () => {
    const e = env(['/usr/bin/testgen', '/b/testgen'], { pathVar: '::/a:/usr/bin:/b' });
    assert.deepEqual(findServer('  ', e), { kind: 'found', path: '/usr/bin/testgen', source: 'path' });
    assert.deepEqual(findServer(null, e), { kind: 'found', path: '/usr/bin/testgen', source: 'path' });
  });

  it('finds testgen.exe on Windows through PATHEXT and ;-separated PATH', () => {
    const e = env(['C:\\tools\\testgen.exe'], {
      platform: 'win32',
      pathVar: 'C:\\Windows;C:\\tools',
      pathExt: '.COM;.EXE',
      extensionPath: 'C:\\ext',
      workspaceFolder: 'C:\\proj',
    });
    assert.deepEqual(findServer(undefined, e), { kind: 'found', path: 'C:\\tools\\testgen.exe', source: 'path' });
  });

  it('says plainly when there is no binary anywhere', () => {
    const d = findServer(undefined, env([], { pathVar: undefined }));
    assert.equal(d.kind, 'missing');
    assert.match(d.kind === 'missing' ? d.message : '', /not found.*testgen\.path is not set.*no testgen on PATH/);
  });
});

describe('fsenv (real files)', { skip: process.platform === 'win32' }, () => {
  it('tells executable files from plain files and directories, and restores the bundled binary\'s x bit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testgen-ext-'));
    try {
      fs.mkdirSync(path.join(dir, 'bin'));
      const bin = path.join(dir, 'bin', 'testgen');
      assert.equal(ensureBundledExecutable(dir), false, 'no bundled binary yet');
      fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o644 });
      assert.equal(isExecutableFile(bin), false);
      assert.equal(isExecutableFile(path.join(dir, 'bin')), false);
      assert.equal(isExecutableFile(path.join(dir, 'missing')), false);
      assert.equal(ensureBundledExecutable(dir), true);
      assert.equal(isExecutableFile(bin), true);
      assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
