// Texts the extension shows: the status bar, the answers of the server's
// commands, failing tests to pick from. No `vscode` import.

import type { CoverageSummary } from './protocol';

function pct(v: number): string {
  return `${v.toFixed(1)}%`;
}

export function statusText(s: CoverageSummary | undefined): string {
  if (!s || s.percent === null) {
    return 'testgen —';
  }
  return `testgen ${pct(s.percent)}`;
}

export function statusTooltip(s: CoverageSummary | undefined): string {
  if (!s || s.percent === null) {
    return 'testgen: nothing measured yet. Click for the coverage report.';
  }
  const lines = [`Coverage ${pct(s.percent)} (statements and branches)`];
  if (s.linePercent !== null) {
    lines.push(`Lines ${pct(s.linePercent)}: ${s.covered} of ${s.statements} statements of the project's code run by tests`);
  }
  lines.push(`${s.files.length} measured ${s.files.length === 1 ? 'file' : 'files'}. Click for the coverage report.`);
  return lines.join('\n');
}

/** Folder roots and file URIs as the server writes them, compared without a trailing slash. */
function under(root: string, uri: string): boolean {
  const r = root.endsWith('/') ? root.slice(0, -1) : root;
  return uri === r || uri.startsWith(`${r}/`);
}

/**
 * The summary the status bar shows: the folder of the active file (the
 * innermost when folders nest), else the first folder that reported.
 */
export function pickSummary(
  summaries: ReadonlyMap<string, CoverageSummary>,
  activeUri: string | undefined,
): CoverageSummary | undefined {
  let best: CoverageSummary | undefined;
  if (activeUri) {
    for (const s of summaries.values()) {
      if (under(s.root, activeUri) && (!best || s.root.length > best.root.length)) {
        best = s;
      }
    }
  }
  return best ?? summaries.values().next().value;
}

/** What a diagnostic looks like to this module (a subset of vscode.Diagnostic). */
export interface DiagnosticLike {
  source?: string;
  code?: string | number | { value: string | number } | undefined;
  message: string;
  /** LSP `data`, kept by vscode-languageclient on its diagnostics. */
  data?: unknown;
}

export interface FailingTest {
  nodeid: string;
  message: string;
}

function codeOf(d: DiagnosticLike): string | number | undefined {
  return typeof d.code === 'object' && d.code !== null ? d.code.value : d.code;
}

/** The failing tests of a file from its `failing-test` diagnostics (their data carries the node id). */
export function failingTests(diagnostics: readonly DiagnosticLike[]): FailingTest[] {
  const seen = new Set<string>();
  const out: FailingTest[] = [];
  for (const d of diagnostics) {
    if (d.source !== 'testgen' || codeOf(d) !== 'failing-test') {
      continue;
    }
    const key = (d.data as { key?: unknown } | undefined)?.key;
    if (typeof key !== 'string' || seen.has(key)) {
      continue;
    }
    seen.add(key);
    out.push({ nodeid: key, message: d.message });
  }
  return out;
}

const OUTCOMES: Record<string, string> = {
  passed: 'tests passed',
  tests_failed: 'tests failed',
  no_tests_collected: 'no tests collected',
  no_tests_selected: 'no tests selected',
  interrupted: 'test run interrupted',
  timed_out: 'test run timed out',
  cancelled: 'test run cancelled',
  crashed: 'test run crashed',
  internal_error: 'pytest failed with an internal error',
  usage_error: 'pytest rejected its arguments',
};

/** One line for a `testgen.runTests` answer (`{outcome, counts, coverage}`, null when no run happened). */
export function runMessage(result: unknown): string {
  if (typeof result !== 'object' || result === null) {
    return 'testgen: no test run happened.';
  }
  const r = result as { outcome?: unknown; counts?: Record<string, unknown>; coverage?: { percent?: unknown } | null };
  const counts = r.counts ?? {};
  // pytest's order; kinds this client does not know yet come last.
  const order = ['passed', 'failed', 'error', 'skipped', 'xfailed'];
  const kinds = [...order, ...Object.keys(counts).filter((k) => !order.includes(k)).sort()];
  const parts: string[] = [];
  for (const k of kinds) {
    const v = counts[k];
    if (typeof v === 'number' && v > 0) {
      parts.push(`${v} ${k}`);
    }
  }
  const outcome = typeof r.outcome === 'string' ? (OUTCOMES[r.outcome] ?? `test run ${r.outcome.replace(/_/g, ' ')}`) : 'test run finished';
  let text = `testgen: ${outcome}`;
  if (parts.length > 0) {
    text += ` (${parts.join(', ')})`;
  }
  const percent = r.coverage?.percent;
  if (typeof percent === 'number') {
    text += `, coverage ${pct(percent)}`;
  }
  return `${text}.`;
}

/** How a run's outcome shows in the Test Results view. */
export function runState(result: unknown): { state: 'passed' | 'failed' | 'errored'; message: string } {
  const outcome = (result as { outcome?: unknown } | null)?.outcome;
  const message = runMessage(result);
  if (outcome === 'passed' || outcome === 'no_tests_collected' || outcome === 'no_tests_selected') {
    return { state: 'passed', message };
  }
  if (outcome === 'tests_failed') {
    return { state: 'failed', message };
  }
  return { state: 'errored', message };
}

/** One line for a `testgen.generateTests` answer (the report of docs/generate.md plus `applied`). */
/**
 * The message of a command the user cancelled from its progress (the server
 * answers `{cancelled: true, message}`), else undefined.
 */
export function cancelledMessage(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || (result as { cancelled?: unknown }).cancelled !== true) {
    return undefined;
  }
  const m = (result as { message?: unknown }).message;
  return typeof m === 'string' && m !== '' ? m : 'testgen: cancelled; nothing was written';
}

export function generateMessage(report: unknown): string {
  if (typeof report !== 'object' || report === null) {
    return 'testgen: no tests were generated.';
  }
  const r = report as {
    tests_written?: unknown;
    files?: unknown;
    applied?: unknown;
    skipped?: unknown;
    coverage_before?: { line_percent?: unknown } | null;
    coverage_after?: { line_percent?: unknown } | null;
  };
  const written = typeof r.tests_written === 'number' ? r.tests_written : 0;
  const files = Array.isArray(r.files) ? r.files.length : 0;
  const skipped = Array.isArray(r.skipped) ? r.skipped.length : 0;
  let text =
    written === 0
      ? 'testgen: no new test passed validation'
      : `testgen: ${written} ${written === 1 ? 'test' : 'tests'} in ${files} ${files === 1 ? 'file' : 'files'}`;
  if (written > 0 && r.applied === 'editor') {
    text += ', opened in the editor (save to keep them)';
  } else if (written > 0 && r.applied === 'disk') {
    text += ', written to disk';
  }
  const before = r.coverage_before?.line_percent;
  const after = r.coverage_after?.line_percent;
  if (typeof before === 'number' && typeof after === 'number') {
    text += `; line coverage ${pct(before)} → ${pct(after)}`;
  }
  if (skipped > 0) {
    text += `; ${skipped} ${skipped === 1 ? 'target' : 'targets'} skipped`;
  }
  return `${text}.`;
}

/**
 * LSP's RequestFailed (-32803): the server already showed the reason with
 * window/showMessage (docs: generateTests, fixTest), so the client does not
 * show it a second time. Every other error is shown by the client.
 */
export const REQUEST_FAILED = -32803;

/** LSP's RequestCancelled; VS Code's CancellationError is named "Canceled". */
const REQUEST_CANCELLED = -32800;

export function errorToShow(error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e && (e.code === REQUEST_FAILED || e.code === REQUEST_CANCELLED || e.name === 'Canceled')) {
    // Shown by the server already, or cancelled by the user.
    return undefined;
  }
  const message = e && typeof e.message === 'string' && e.message.length > 0 ? e.message : String(error);
  return `testgen: ${message}`;
}
