// The test-coverage API of VS Code 1.88 (the extension's engines floor, the
// version that finalised it), as far as the extension uses it. Reached only
// through `coverageApi()`, which still checks at run time that the host has
// it: an editor built on an older VS Code (a fork) then gets the status bar
// and diagnostics without the coverage view instead of a crash.

import * as vscode from 'vscode';

export type FileCoverage = vscode.FileCoverage;
export type FileCoverageDetail = vscode.FileCoverageDetail;
export type CoverageTestRun = vscode.TestRun;
export type CoverageRunProfile = vscode.TestRunProfile;

/** The classes the coverage view builds, taken from the host at run time. */
export interface CoverageApi {
  TestCoverageCount: typeof vscode.TestCoverageCount;
  FileCoverage: typeof vscode.FileCoverage;
  StatementCoverage: typeof vscode.StatementCoverage;
  BranchCoverage: typeof vscode.BranchCoverage;
  DeclarationCoverage: typeof vscode.DeclarationCoverage;
  /** TestRunProfileKind.Coverage (3 in VS Code's API). */
  coverageKind: vscode.TestRunProfileKind;
}

/** The coverage API when this VS Code has it (1.88 and later), else undefined. */
export function coverageApi(): CoverageApi | undefined {
  const api = vscode as unknown as Record<string, unknown>;
  const kinds = vscode.TestRunProfileKind as unknown as Record<string, unknown>;
  const names = ['TestCoverageCount', 'FileCoverage', 'StatementCoverage', 'BranchCoverage', 'DeclarationCoverage'];
  if (!names.every((n) => typeof api[n] === 'function') || typeof kinds.Coverage !== 'number') {
    return undefined;
  }
  return {
    TestCoverageCount: api.TestCoverageCount,
    FileCoverage: api.FileCoverage,
    StatementCoverage: api.StatementCoverage,
    BranchCoverage: api.BranchCoverage,
    DeclarationCoverage: api.DeclarationCoverage,
    coverageKind: kinds.Coverage as vscode.TestRunProfileKind,
  } as unknown as CoverageApi;
}
