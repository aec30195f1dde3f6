// The server's custom messages and commands (docs/lsp-extensions.md and
// docs/configuration.md), and checked parsing of their payloads: a payload
// the client does not understand is dropped with a reason, never half-used.
// No `vscode` import: unit-tested under plain node.

export const Methods = {
  coverageChanged: 'testgen/coverageChanged',
  coverageSummary: 'testgen/coverageSummary',
  fileCoverage: 'testgen/fileCoverage',
} as const;

/** Commands the server executes; the language client registers them under these ids. */
export const ServerCommands = {
  generateTests: 'testgen.generateTests',
  fixTest: 'testgen.fixTest',
  runTests: 'testgen.runTests',
  refreshCoverage: 'testgen.refreshCoverage',
  showReport: 'testgen.showReport',
} as const;

/** Commands only the extension implements: they must not collide with ServerCommands. */
export const ClientCommands = {
  generateForFile: 'testgen.generateForFile',
  restartServer: 'testgen.restartServer',
} as const;

export interface Count {
  covered: number;
  total: number;
}

export interface FileSummary {
  uri: string;
  statements: Count;
  branches?: Count;
  declarations?: Count;
}

export interface CoverageSummary {
  root: string;
  /** null: nothing measured yet. */
  percent: number | null;
  linePercent: number | null;
  statements: number;
  covered: number;
  files: FileSummary[];
}

export interface LineCoverage {
  line: number;
  hits: number;
  branches?: Count;
}

export interface DeclarationInfo {
  name: string;
  qualname: string;
  line: number;
  endLine: number;
  hits: number;
  percent: number | null;
  tests: string[];
}

export interface FileCoverageResult {
  uri: string;
  lines: LineCoverage[];
  declarations: DeclarationInfo[];
}

export interface ShowReportResult {
  summary: CoverageSummary | null;
  html: string | null;
  text: string;
}

export class PayloadError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new PayloadError(`${what}: expected an object`);
  }
  return v as Obj;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new PayloadError(`${what}: expected a number`);
  }
  return v;
}

function nullableNum(v: unknown, what: string): number | null {
  return v === null || v === undefined ? null : num(v, what);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') {
    throw new PayloadError(`${what}: expected a string`);
  }
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) {
    throw new PayloadError(`${what}: expected an array`);
  }
  return v;
}

function count(v: unknown, what: string): Count {
  const o = obj(v, what);
  return { covered: num(o.covered, `${what}.covered`), total: num(o.total, `${what}.total`) };
}

function optCount(v: unknown, what: string): Count | undefined {
  return v === undefined || v === null ? undefined : count(v, what);
}

function fileSummary(v: unknown, what: string): FileSummary {
  const o = obj(v, what);
  const f: FileSummary = { uri: str(o.uri, `${what}.uri`), statements: count(o.statements, `${what}.statements`) };
  const branches = optCount(o.branches, `${what}.branches`);
  const declarations = optCount(o.declarations, `${what}.declarations`);
  if (branches) f.branches = branches;
  if (declarations) f.declarations = declarations;
  return f;
}

/** A `testgen/coverageChanged` payload or `testgen/coverageSummary` result. */
export function parseSummary(v: unknown): CoverageSummary {
  const o = obj(v, 'coverage summary');
  return {
    root: str(o.root, 'root'),
    percent: nullableNum(o.percent, 'percent'),
    linePercent: nullableNum(o.linePercent, 'linePercent'),
    statements: num(o.statements ?? 0, 'statements'),
    covered: num(o.covered ?? 0, 'covered'),
    files: arr(o.files ?? [], 'files').map((f, i) => fileSummary(f, `files[${i}]`)),
  };
}

/** A `testgen/fileCoverage` result; null when the file has no measured data. */
export function parseFileCoverage(v: unknown): FileCoverageResult | null {
  if (v === null || v === undefined) {
    return null;
  }
  const o = obj(v, 'file coverage');
  const lines = arr(o.lines ?? [], 'lines').map((l, i): LineCoverage => {
    const lo = obj(l, `lines[${i}]`);
    const line: LineCoverage = { line: num(lo.line, `lines[${i}].line`), hits: num(lo.hits, `lines[${i}].hits`) };
    const branches = optCount(lo.branches, `lines[${i}].branches`);
    if (branches) line.branches = branches;
    return line;
  });
  const declarations = arr(o.declarations ?? [], 'declarations').map((d, i): DeclarationInfo => {
    const w = `declarations[${i}]`;
    const dobj = obj(d, w);
    const line = num(dobj.line, `${w}.line`);
    return {
      name: str(dobj.name, `${w}.name`),
      qualname: str(dobj.qualname ?? dobj.name, `${w}.qualname`),
      line,
      endLine: num(dobj.endLine ?? line, `${w}.endLine`),
      hits: num(dobj.hits, `${w}.hits`),
      percent: nullableNum(dobj.percent, `${w}.percent`),
      tests: arr(dobj.tests ?? [], `${w}.tests`).map((t, j) => str(t, `${w}.tests[${j}]`)),
    };
  });
  return { uri: str(o.uri, 'uri'), lines, declarations };
}

/** The answer of the `testgen.showReport` command. */
export function parseShowReport(v: unknown): ShowReportResult {
  const o = obj(v, 'report');
  const html = o.html === null || o.html === undefined ? null : str(o.html, 'html');
  return {
    summary: o.summary === null || o.summary === undefined ? null : parseSummary(o.summary),
    html: html === '' ? null : html,
    text: o.text === null || o.text === undefined ? '' : str(o.text, 'text'),
  };
}

