// Server coverage payloads → plain structures shaped like VS Code's coverage
// API (FileCoverage, StatementCoverage, BranchCoverage, DeclarationCoverage),
// so that the part of the conversion that can be wrong is tested without VS
// Code. Lines are 0-based, as in the payloads.

import type { Count, CoverageSummary, FileCoverageResult } from './protocol';

export interface FileCounts {
  uri: string;
  statements: Count;
  branches?: Count;
  declarations?: Count;
}

export interface Span {
  startLine: number;
  startCharacter: number;
  endLine: number;
  endCharacter: number;
}

export interface BranchDetail {
  executed: boolean;
  label: string;
}

export interface StatementDetail {
  /** Number of tests that ran the line (or 1/0 without per-test contexts). */
  executed: number;
  span: Span;
  branches: BranchDetail[];
}

export interface DeclarationDetail {
  name: string;
  executed: number;
  span: Span;
}

export interface FileDetails {
  statements: StatementDetail[];
  declarations: DeclarationDetail[];
}

/**
 * The buffer as the editor has it now; the server's lines can be past its
 * end when the file got shorter since the server answered.
 */
export interface DocumentLines {
  lineCount: number;
  text(line: number): string;
}

/** Per-file counts of every workspace folder's latest summary, one entry per file. */
export function fileCounts(summaries: Iterable<CoverageSummary>): FileCounts[] {
  const byUri = new Map<string, FileCounts>();
  for (const s of summaries) {
    for (const f of s.files) {
      // A file of a nested folder appears in both summaries: the later one wins.
      byUri.set(f.uri, { ...f });
    }
  }
  return [...byUri.values()].sort((a, b) => a.uri.localeCompare(b.uri));
}

/**
 * The server counts branches per line, without saying which branch of the
 * line ran: the line gets `covered` taken and `total - covered` not taken
 * branches, so counts and the "partially covered" marker are right.
 */
function branchDetails(c: Count | undefined): BranchDetail[] {
  if (!c) {
    return [];
  }
  const total = Math.max(0, Math.floor(c.total));
  const covered = Math.min(total, Math.max(0, Math.floor(c.covered)));
  const out: BranchDetail[] = [];
  for (let i = 0; i < total; i++) {
    const executed = i < covered;
    out.push({ executed, label: executed ? 'branch taken' : 'branch not taken' });
  }
  return out;
}

export function fileDetails(fc: FileCoverageResult, doc: DocumentLines): FileDetails {
  const exists = (line: number) => Number.isInteger(line) && line >= 0 && line < doc.lineCount;
  const statements: StatementDetail[] = [];
  for (const l of fc.lines) {
    if (!exists(l.line)) {
      continue;
    }
    const cols = trimmedColumns(doc.text(l.line));
    statements.push({
      executed: Math.max(0, l.hits),
      span: { startLine: l.line, startCharacter: cols.start, endLine: l.line, endCharacter: cols.end },
      branches: branchDetails(l.branches),
    });
  }
  const declarations: DeclarationDetail[] = [];
  for (const d of fc.declarations) {
    if (!exists(d.line)) {
      continue;
    }
    // endLine is the function's last line (inclusive), clamped to the buffer.
    const endLine = Math.min(Math.max(d.line, Math.floor(d.endLine)), doc.lineCount - 1);
    declarations.push({
      name: d.qualname || d.name,
      executed: Math.max(0, d.hits),
      span: {
        startLine: d.line,
        startCharacter: trimmedColumns(doc.text(d.line)).start,
        endLine,
        endCharacter: doc.text(endLine).length,
      },
    });
  }
  return { statements, declarations };
}

/** Column range of a line's text without surrounding blanks. */
export function trimmedColumns(text: string): { start: number; end: number } {
  const start = text.length - text.trimStart().length;
  const end = text.trimEnd().length;
  return end < start ? { start: 0, end: 0 } : { start, end };
}
