import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  cancelledMessage,
  errorToShow,
  failingTests,
  generateMessage,
  pickSummary,
  runMessage,
  runState,
  statusText,
  statusTooltip,
} from '../src/pure/present';
import type { CoverageSummary } from '../src/pure/protocol';
import { SummaryStore } from '../src/pure/summaries';

function summary(root: string, percent: number | null): CoverageSummary {
  return { root, percent, linePercent: percent === null ? null : 74.1, statements: 412, covered: 305, files: [] };
}

describe('status bar', () => {
  it('shows the project percent with one decimal', () => {
    assert.equal(statusText(summary('file:///p', 72.5)), 'testgen 72.5%');
    assert.equal(statusText(summary('file:///p', 100)), 'testgen 100.0%');
  });

  it('shows a dash before anything was measured', () => {
    assert.equal(statusText(undefined), 'testgen —');
    assert.equal(statusText(summary('file:///p', null)), 'testgen —');
    assert.match(statusTooltip(undefined), /nothing measured yet/);
  });

  it('puts line percent and statement counts in the tooltip', () => {
    const t = statusTooltip(summary('file:///p', 72.5));
    assert.match(t, /Coverage 72\.5% \(statements and branches\)/);
    assert.match(t, /Lines 74\.1%: 305 of 412 statements/);
  });

  it('picks the innermost folder of the active file, else the first', () => {
    const m = new Map([
      ['file:///a', summary('file:///a', 10)],
      ['file:///a/inner/', summary('file:///a/inner/', 20)],
      ['file:///b', summary('file:///b', 30)],
    ]);
    assert.equal(pickSummary(m, 'file:///a/inner/x.py')?.percent, 20);
    assert.equal(pickSummary(m, 'file:///a/x.py')?.percent, 10);
    assert.equal(pickSummary(m, 'file:///b/y.py')?.percent, 30);
    // file:///ab is not inside file:///a.
    assert.equal(pickSummary(m, 'file:///ab/y.py')?.percent, 10);
    assert.equal(pickSummary(m, undefined)?.percent, 10);
    assert.equal(pickSummary(new Map(), 'file:///a/x.py'), undefined);
  });
});

describe('SummaryStore', () => {
  it('keeps the latest summary per folder and tells its listeners', () => {
    const store = new SummaryStore();
    let calls = 0;
    const sub = store.onChange(() => calls++);
    store.set(summary('file:///a', 10));
    store.set(summary('file:///a', 15));
    store.set(summary('file:///b', 30));
    assert.equal(store.all.size, 2);
    assert.equal(store.all.get('file:///a')?.percent, 15);
    store.clear();
    assert.equal(store.all.size, 0);
    assert.equal(calls, 4);
    sub.dispose();
    store.set(summary('file:///a', 1));
    assert.equal(calls, 4);
  });
});

describe('failingTests', () => {
  it('takes the node ids of testgen\'s failing-test diagnostics, once each', () => {
    const diags = [
      { source: 'testgen', code: 'failing-test', message: 'test `t1` fails: assert 1 == 2', data: { key: 'tests/t.py::t1' } },
      { source: 'testgen', code: { value: 'failing-test' }, message: 'test `t2` errors', data: { key: 'tests/t.py::t2' } },
      { source: 'testgen', code: 'failing-test', message: 'again', data: { key: 'tests/t.py::t1' } },
      { source: 'testgen', code: 'uncovered-function', message: '`f` is not covered', data: { key: 'f' } },
      { source: 'pylint', code: 'failing-test', message: 'x', data: { key: 'nope' } },
      { source: 'testgen', code: 'failing-test', message: 'no data' },
    ];
    assert.deepEqual(failingTests(diags), [
      { nodeid: 'tests/t.py::t1', message: 'test `t1` fails: assert 1 == 2' },
      { nodeid: 'tests/t.py::t2', message: 'test `t2` errors' },
    ]);
  });
});

describe('command answers', () => {
  it('summarizes a run', () => {
    // The server's JSON has its keys sorted; the message keeps pytest's order.
    const r = {
      outcome: 'tests_failed',
      counts: { error: 2, failed: 1, passed: 8, skipped: 0, weird: 1, xfailed: 0 },
      coverage: { percent: 58.3 },
    };
    assert.equal(runMessage(r), 'testgen: tests failed (8 passed, 1 failed, 2 error, 1 weird), coverage 58.3%.');
    assert.equal(runState(r).state, 'failed');
    assert.equal(runState({ outcome: 'passed', counts: {}, coverage: null }).state, 'passed');
    assert.equal(runState({ outcome: 'timed_out' }).state, 'errored');
    assert.equal(runMessage(null), 'testgen: no test run happened.');
    assert.equal(runMessage({ outcome: 'timed_out', counts: {}, coverage: null }), 'testgen: test run timed out.');
    assert.equal(runMessage({ outcome: 'new_kind' }), 'testgen: test run new kind.');
  });

  it('summarizes a generate report', () => {
    const report = {
      tests_written: 3,
      files: [{ path: 'tests/generated/test_pricing.py', tests: [] }],
      applied: 'editor',
      skipped: [{ target: 'pkg/a.py::g', reason: 'needs a database' }],
      coverage_before: { line_percent: 50 },
      coverage_after: { line_percent: 75.25 },
    };
    assert.equal(
      generateMessage(report),
      'testgen: 3 tests in 1 file, opened in the editor (save to keep them); line coverage 50.0% → 75.3%; 1 target skipped.',
    );
    assert.equal(
      generateMessage({ tests_written: 0, files: [], coverage_after: null }),
      'testgen: no new test passed validation.',
    );
  });

  it('shows errors the server did not show itself', () => {
    assert.equal(errorToShow({ code: -32803, message: 'Fixing x is not available yet' }), undefined);
    const cancelled = new Error('Canceled');
    cancelled.name = 'Canceled';
    assert.equal(errorToShow(cancelled), undefined);
    assert.equal(errorToShow({ code: -32800, message: 'cancelled' }), undefined);
    assert.equal(errorToShow({ code: -32602, message: 'file:///x: not a file of a workspace folder' }), 'testgen: file:///x: not a file of a workspace folder');
    assert.equal(errorToShow(new Error('the testgen server is not running')), 'testgen: the testgen server is not running');
  });
});

describe('cancelled commands', () => {
  it('says what the server said when the user cancelled from the progress', () => {
    assert.equal(
      cancelledMessage({ cancelled: true, applied: 'nothing', message: 'testgen: cancelled; nothing was written' }),
      'testgen: cancelled; nothing was written',
    );
    assert.equal(cancelledMessage({ cancelled: true }), 'testgen: cancelled; nothing was written');
  });
  it('leaves every other answer to its own message', () => {
    assert.equal(cancelledMessage({ tests_written: 2 }), undefined);
    assert.equal(cancelledMessage({ cancelled: false }), undefined);
    assert.equal(cancelledMessage(null), undefined);
  });
});
