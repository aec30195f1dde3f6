import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { CLIENT_ONLY_KEYS, removedKeys, sectionOf, serverKeys, userLayer, userValue, type Inspected } from '../src/pure/settings';

// Tests run from out/test/; package.json is two levels up.
const packageJson: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('serverKeys', () => {
  it('lists every contributed testgen.* key except the client-only ones', () => {
    const keys = serverKeys(packageJson);
    assert.ok(keys.includes('python'));
    assert.ok(keys.includes('explore.budgetS'));
    assert.ok(keys.includes('llm.apiKeyEnv'));
    assert.ok(!keys.includes('path'));
    assert.ok(!keys.includes('trace.server'));
    // Every contributed key is either sent to the server or client-only: none is lost.
    const contributed = Object.keys(
      (packageJson as { contributes: { configuration: { properties: Record<string, unknown> } } }).contributes
        .configuration.properties,
    ).filter((k) => k.startsWith('testgen.'));
    assert.equal(keys.length + CLIENT_ONLY_KEYS.length, contributed.length);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('reads contributes.configuration given as an array of blocks', () => {
    const pkg = {
      contributes: {
        configuration: [
          { properties: { 'testgen.python': {}, 'testgen.path': {} } },
          { properties: { 'testgen.llm.model': {}, 'other.key': {} } },
        ],
      },
    };
    assert.deepEqual(serverKeys(pkg), ['python', 'llm.model']);
  });

  it('has no keys without contributions', () => {
    assert.deepEqual(serverKeys({}), []);
  });
});

describe('userValue', () => {
  it('takes the most specific scope the user set', () => {
    assert.equal(userValue({ globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }), 3);
    assert.equal(userValue({ globalValue: 1, workspaceValue: 2 }), 2);
    assert.equal(userValue({ globalValue: 1 }), 1);
  });

  it('treats null and missing as unset', () => {
    assert.equal(userValue(undefined), undefined);
    assert.equal(userValue({}), undefined);
    assert.equal(userValue({ workspaceValue: null, globalValue: 'g' }), 'g');
  });
});

describe('userLayer', () => {
  const keys = ['python', 'runOnSave', 'debounceMs', 'pytestArgs', 'explore.budgetS', 'explore.seed', 'llm.model', 'llm.provider'];

  it('sends only the keys the user set, nested by dots', () => {
    const values: Record<string, Inspected & { defaultValue?: unknown }> = {
      // Defaults are what VS Code's get() would answer; they must not be sent.
      python: { defaultValue: null },
      runOnSave: { defaultValue: true, globalValue: false },
      debounceMs: { defaultValue: 300 },
      pytestArgs: { defaultValue: [], workspaceValue: [] },
      'explore.budgetS': { defaultValue: 10, workspaceFolderValue: 2.5 },
      'explore.seed': { defaultValue: 0, globalValue: 0 },
      'llm.model': { defaultValue: null, workspaceValue: 'gpt-x' },
      'llm.provider': { defaultValue: null },
    };
    const layer = userLayer(keys, (k) => values[k]);
    assert.deepEqual(layer, {
      runOnSave: false,
      pytestArgs: [],
      explore: { budgetS: 2.5, seed: 0 },
      llm: { model: 'gpt-x' },
    });
  });

  it('is empty when nothing is set', () => {
    assert.deepEqual(
      userLayer(keys, () => ({})),
      {},
    );
    assert.deepEqual(
      userLayer(keys, () => undefined),
      {},
    );
  });
});

describe('sectionOf', () => {
  const layer = { python: '/p', llm: { model: 'm' } };

  it('answers the testgen section with the whole layer', () => {
    assert.deepEqual(sectionOf(layer, 'testgen'), layer);
  });

  it('answers a subsection with that part, empty when unset', () => {
    assert.deepEqual(sectionOf(layer, 'testgen.llm'), { model: 'm' });
    assert.deepEqual(sectionOf(layer, 'testgen.explore'), {});
  });

  it('leaves other sections to VS Code', () => {
    assert.equal(sectionOf(layer, 'python'), undefined);
    assert.equal(sectionOf(layer, undefined), undefined);
    assert.equal(sectionOf(layer, 'testgenx'), undefined);
  });
});

describe('removedKeys', () => {
  it('names the keys the user unset since the server started, nested ones dotted', () => {
    const before = { python: '/p', uncoveredSeverity: 'warning', explore: { seed: 1, budgetS: 3 }, llm: { model: 'm' } };
    const after = { python: '/q', explore: { budgetS: 3 } };
    assert.deepEqual(removedKeys(before, after), ['uncoveredSeverity', 'explore.seed', 'llm.model']);
  });

  it('is empty when keys were only changed or added', () => {
    assert.deepEqual(removedKeys({ python: '/p' }, { python: '/q', runOnSave: false }), []);
    assert.deepEqual(removedKeys({}, {}), []);
  });
});
