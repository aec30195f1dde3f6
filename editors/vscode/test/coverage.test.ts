import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fileCounts, fileDetails, trimmedColumns, type DocumentLines } from '../src/pure/coverage';
import type { CoverageSummary } from '../src/pure/protocol';

function doc(lines: string[]): DocumentLines {
  return { lineCount: lines.length, text: (l) => lines[l] };
}

function summary(root: string, files: CoverageSummary['files']): CoverageSummary {
  return { root, percent: 50, linePercent: 50, statements: 2, covered: 1, files };
}

describe('fileCounts', () => {
  it('merges the folders, one entry per file, sorted', () => {
    const a = summary('file:///a', [
      { uri: 'file:///a/z.py', statements: { covered: 1, total: 2 } },
      { uri: 'file:///a/inner/m.py', statements: { covered: 0, total: 4 } },
    ]);
    // A nested folder reports the same file again: the later report wins.
    const inner = summary('file:///a/inner', [
      { uri: 'file:///a/inner/m.py', statements: { covered: 4, total: 4 }, branches: { covered: 1, total: 2 } },
    ]);
    assert.deepEqual(fileCounts([a, inner]), [
      { uri: 'file:///a/inner/m.py', statements: { covered: 4, total: 4 }, branches: { covered: 1, total: 2 } },
      { uri: 'file:///a/z.py', statements: { covered: 1, total: 2 } },
    ]);
  });

  it('is empty before anything was measured', () => {
    assert.deepEqual(fileCounts([summary('file:///a', [])]), []);
  });
});

describe('fileDetails', () => {
  const text = [
    'import math', // 0
    '',
    'def f(x):', // 2
    '    if x:', // 3
    '        return 1  ', // 4
    '    return 2', // 5
  ];

  it('turns 0-based lines into statement spans over the line\'s text', () => {
    const d = fileDetails(
      {
        uri: 'file:///a.py',
        lines: [
          { line: 0, hits: 2 },
          { line: 3, hits: 1, branches: { covered: 1, total: 2 } },
          { line: 4, hits: 0 },
        ],
        declarations: [],
      },
      doc(text),
    );
    assert.deepEqual(d.statements, [
      { executed: 2, span: { startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 11 }, branches: [] },
      {
        executed: 1,
        span: { startLine: 3, startCharacter: 4, endLine: 3, endCharacter: 9 },
        branches: [
          { executed: true, label: 'branch taken' },
          { executed: false, label: 'branch not taken' },
        ],
      },
      { executed: 0, span: { startLine: 4, startCharacter: 8, endLine: 4, endCharacter: 16 }, branches: [] },
    ]);
  });

  it('drops lines the buffer no longer has and clamps a function\'s end to it', () => {
    const d = fileDetails(
      {
        uri: 'file:///a.py',
        lines: [
          { line: 5, hits: 1 },
          { line: 6, hits: 1 },
          { line: -1, hits: 1 },
        ],
        declarations: [
          { name: 'f', qualname: 'f', line: 2, endLine: 40, hits: 3, percent: 75, tests: [] },
          { name: 'gone', qualname: 'C.gone', line: 90, endLine: 95, hits: 0, percent: 0, tests: [] },
        ],
      },
      doc(text),
    );
    assert.deepEqual(
      d.statements.map((s) => s.span.startLine),
      [5],
    );
    assert.deepEqual(d.declarations, [
      { name: 'f', executed: 3, span: { startLine: 2, startCharacter: 0, endLine: 5, endCharacter: 12 } },
    ]);
  });

  it('names methods by their qualname and clamps bad branch counts', () => {
    const d = fileDetails(
      {
        uri: 'file:///a.py',
        lines: [{ line: 3, hits: 0, branches: { covered: 5, total: 2 } }],
        declarations: [{ name: 'f', qualname: 'K.f', line: 2, endLine: 5, hits: 0, percent: 0, tests: [] }],
      },
      doc(text),
    );
    assert.deepEqual(
      d.statements[0].branches.map((b) => b.executed),
      [true, true],
    );
    assert.equal(d.declarations[0].name, 'K.f');
    assert.equal(d.declarations[0].executed, 0);
  });
});

describe('trimmedColumns', () => {
  it('spans the text without surrounding blanks', () => {
    assert.deepEqual(trimmedColumns('    x = 1   '), { start: 4, end: 9 });
    assert.deepEqual(trimmedColumns('   '), { start: 0, end: 0 });
    assert.deepEqual(trimmedColumns(''), { start: 0, end: 0 });
  });
});
