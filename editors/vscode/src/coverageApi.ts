// The test-coverage API of VS Code 1.88, declared here because the
// extension builds against @types/vscode 1.82 (its engines floor; vsce
// refuses newer types). Reached only through `coverageApi()`, which checks
// at run time that the editor has it, so nothing here is used on 1.82–1.87.

import * as vscode from 'vscode';

export interface TestCoverageCount {
  covered: number;
  total: number;
}

export interface FileCoverage {
  readonly uri: vscode.Uri;
  statementCoverage: TestCoverageCount;
  branchCoverage?: TestCoverageCount;
  declarationCoverage?: TestCoverageCount;
}

export interface StatementCoverage {
  executed: number | boolean;
  location: vscode.Position | vscode.Range;
}

export interface BranchCoverage {
  executed: number | boolean;
}

export interface DeclarationCoverage {
  name: string;
  executed: number | boolean;
  location: vscode.Position | vscode.Range;
}

export type FileCoverageDetail = StatementCoverage | DeclarationCoverage;

export interface CoverageTestRun extends vscode.TestRun {
  addCoverage(fileCoverage: FileCoverage): void;
}

export interface CoverageRunProfile extends vscode.TestRunProfile {
  loadDetailedCoverage?: (
    testRun: vscode.TestRun,
    fileCoverage: FileCoverage,
    token: vscode.CancellationToken,
  ) => Thenable<FileCoverageDetail[]>;
}

export interface CoverageApi {
  TestCoverageCount: new (covered: number, total: number) => TestCoverageCount;
  FileCoverage: new (
    uri: vscode.Uri,
    statementCoverage: TestCoverageCount,
    branchCoverage?: TestCoverageCount,
    declarationCoverage?: TestCoverageCount,
  ) => FileCoverage;
  StatementCoverage: new (
    executed: number | boolean,
    location: vscode.Position | vscode.Range,
    branches?: BranchCoverage[],
  ) => StatementCoverage;
  BranchCoverage: new (executed: number | boolean, location?: vscode.Position | vscode.Range, label?: string) => BranchCoverage;
  DeclarationCoverage: new (
    name: string,
    executed: number | boolean,
    location: vscode.Position | vscode.Range,
  ) => DeclarationCoverage;
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
