import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PayloadError, parseFileCoverage, parseShowReport, parseSummary } from '../src/pure/protocol';

// The examples of docs/lsp-extensions.md, verbatim.
const changed = {
  root: 'file:///home/me/proj',
  percent: 72.5,
  linePercent: 74.1,
  statements: 412,
  covered: 305,
  files: [
    {
      uri: 'file:///home/me/proj/pkg/pricing.py',
      statements: { covered: 30, total: 34 },
      branches: { covered: 8, total: 12 },
      declarations: { covered: 5, total: 6 },
    },
  ],
};

const fileCoverage = {
  uri: 'file:///home/me/proj/pkg/pricing.py',
  lines: [
    { line: 11, hits: 3 },
    { line: 12, hits: 0 },
    { line: 14, hits: 1, branches: { covered: 1, total: 2 } },
  ],
  declarations: [
    {
      name: 'apply_discount',
      qualname: 'apply_discount',
      line: 10,
      endLine: 18,
      hits: 3,
      percent: 75.0,
      tests: ['tests/test_pricing.py::test_discount'],
    },
  ],
};

describe('parseSummary', () => {
  it('reads the documented coverageChanged payload', () => {
    assert.deepEqual(parseSummary(changed), changed);
  });

  it('leaves out branches the run did not measure', () => {
    const s = parseSummary({ ...changed, files: [{ uri: 'file:///a.py', statements: { covered: 1, total: 2 } }] });
    assert.deepEqual(s.files, [{ uri: 'file:///a.py', statements: { covered: 1, total: 2 } }]);
    assert.equal('branches' in s.files[0], false);
  });

  it('reads "nothing measured yet"', () => {
    const s = parseSummary({ root: 'file:///p', percent: null, linePercent: null, statements: 0, covered: 0, files: [] });
    assert.equal(s.percent, null);
    assert.deepEqual(s.files, []);
  });

  it('rejects malformed payloads with the path of the bad field', () => {
    assert.throws(() => parseSummary(null), PayloadError);
    assert.throws(() => parseSummary({ ...changed, root: 3 }), /root: expected a string/);
    assert.throws(() => parseSummary({ ...changed, files: {} }), /files: expected an array/);
    assert.throws(
      () => parseSummary({ ...changed, files: [{ uri: 'file:///a.py', statements: { covered: '1', total: 2 } }] }),
      /files\[0\]\.statements\.covered: expected a number/,
    );
    assert.throws(() => parseSummary({ ...changed, percent: 'high' }), /percent: expected a number/);
  });
});

describe('parseFileCoverage', () => {
  it('reads the documented fileCoverage result', () => {
    assert.deepEqual(parseFileCoverage(fileCoverage), fileCoverage);
  });

  it('is null for a file without measured data', () => {
    assert.equal(parseFileCoverage(null), null);
  });

  it('rejects a line without a number', () => {
    assert.throws(() => parseFileCoverage({ uri: 'file:///a.py', lines: [{ line: 'x', hits: 1 }] }), /lines\[0\]\.line/);
  });
});

describe('parseShowReport', () => {
  it('reads html, text and the summary', () => {
    const r = parseShowReport({ summary: changed, html: '/home/me/proj/.testgen/report.html', text: 'TOTAL 72.5%' });
    assert.equal(r.html, '/home/me/proj/.testgen/report.html');
    assert.equal(r.text, 'TOTAL 72.5%');
    assert.equal(r.summary?.percent, 72.5);
  });

  it('has no html when the server has none', () => {
    const r = parseShowReport({ summary: null, html: null, text: 'nothing measured yet' });
    assert.equal(r.html, null);
    assert.equal(r.summary, null);
  });
});
