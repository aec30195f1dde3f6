// package.json is the extension's manifest: what VS Code shows and what the
// language client registers must fit together.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { ClientCommands, ServerCommands } from '../src/pure/protocol';

interface Manifest {
  engines: { vscode: string };
  main: string;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
  contributes: {
    commands: { command: string; title: string }[];
    menus: { commandPalette: { command: string }[] };
    configuration: { properties: Record<string, { default?: unknown; description?: string; markdownDescription?: string }> };
  };
}

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;

describe('package.json', () => {
  it('contributes every command the brief names, with a title', () => {
    const ids = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(ids, [
      'testgen.fixTest',
      'testgen.generateForFile',
      'testgen.refreshCoverage',
      'testgen.restartServer',
      'testgen.runTests',
      'testgen.showReport',
    ]);
    for (const c of pkg.contributes.commands) {
      assert.ok(c.title.length > 0, c.command);
    }
  });

  it('registers none of the server\'s command ids itself (the language client does)', () => {
    const server = new Set<string>(Object.values(ServerCommands));
    for (const own of Object.values(ClientCommands)) {
      assert.ok(!server.has(own), own);
    }
    // Every contributed command is either the extension's own or the server's.
    for (const c of pkg.contributes.commands) {
      assert.ok(server.has(c.command) || (Object.values(ClientCommands) as string[]).includes(c.command), c.command);
    }
  });

  it('only names contributed commands in the palette menu', () => {
    const ids = new Set(pkg.contributes.commands.map((c) => c.command));
    for (const m of pkg.contributes.menus.commandPalette) {
      assert.ok(ids.has(m.command), m.command);
    }
  });

  it('describes every setting', () => {
    for (const [key, p] of Object.entries(pkg.contributes.configuration.properties)) {
      assert.ok((p.description ?? p.markdownDescription ?? '').length > 10, key);
      assert.ok('default' in p, `${key} has a default`);
    }
  });

  it('builds against types no newer than its engines floor (vsce refuses otherwise)', () => {
    const floor = pkg.engines.vscode.replace(/^\^/, '');
    assert.equal(pkg.devDependencies['@types/vscode'], floor);
    assert.match(pkg.dependencies['vscode-languageclient'], /^\^9\./);
    assert.equal(pkg.main, './dist/extension.js');
  });
});
