// VS Code's native test-coverage view (1.88+): every coverage change of the
// server becomes a finished test run carrying per-file coverage; the
// line-level details are fetched from the server when the editor asks
// (`loadDetailedCoverage`). One test item per workspace folder stands for its
// pytest suite, so "Run with coverage" runs it through the server.

import * as vscode from 'vscode';

import type { CoverageApi, CoverageRunProfile, CoverageTestRun, FileCoverage, FileCoverageDetail } from './coverageApi';
import { fileCounts, fileDetails, type Span } from './pure/coverage';
import { runState } from './pure/present';
import { Methods, parseFileCoverage, parseSummary, ServerCommands } from './pure/protocol';
import type { SummaryStore } from './pure/summaries';
import type { TestgenServer } from './server';

export class CoverageView implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController('testgen', 'testgen');
  private readonly profile: CoverageRunProfile;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** vscode.Uri.toString() → the URI string the server used, to ask about that file. */
  private readonly serverUris = new Map<string, string>();
  /** Profile runs in flight: they add the coverage themselves. */
  private profileRuns = 0;
  private shownFiles = 0;

  constructor(
    private readonly api: CoverageApi,
    private readonly server: TestgenServer,
    private readonly store: SummaryStore,
    private readonly output: vscode.OutputChannel,
  ) {
    this.profile = this.controller.createRunProfile(
      'Run tests with coverage (testgen)',
      api.coverageKind,
      (request, token) => this.runProfile(request, token),
      true,
    );
    this.profile.loadDetailedCoverage = (_run, fc, token) => this.details(fc, token);
    this.folderItems();
    this.subscriptions.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.folderItems()),
      store.onChange(() => this.showLatest()),
    );
  }

  private folderItems(): void {
    const items = (vscode.workspace.workspaceFolders ?? []).map((f) => {
      const item = this.controller.createTestItem(f.uri.toString(), f.name, f.uri);
      item.description = 'pytest suite';
      return item;
    });
    this.controller.items.replace(items);
  }

  /** A finished run with the store's coverage, so the editor shows the latest figures. */
  private showLatest(): void {
    if (this.profileRuns > 0) {
      return;
    }
    const files = fileCounts(this.store.all.values());
    if (files.length === 0 && this.shownFiles === 0) {
      return;
    }
    const request = new vscode.TestRunRequest(undefined, undefined, this.profile);
    const run = this.controller.createTestRun(request, 'testgen coverage', false);
    this.addCoverage(run);
    run.end();
  }

  private addCoverage(run: CoverageTestRun): void {
    const { TestCoverageCount, FileCoverage } = this.api;
    const files = fileCounts(this.store.all.values());
    this.serverUris.clear();
    for (const f of files) {
      const uri = vscode.Uri.parse(f.uri);
      this.serverUris.set(uri.toString(), f.uri);
      run.addCoverage(
        new FileCoverage(
          uri,
          new TestCoverageCount(f.statements.covered, f.statements.total),
          f.branches && new TestCoverageCount(f.branches.covered, f.branches.total),
          f.declarations && new TestCoverageCount(f.declarations.covered, f.declarations.total),
        ),
      );
    }
    this.shownFiles = files.length;
  }

  private async runProfile(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const items: vscode.TestItem[] = [];
    if (request.include) {
      items.push(...request.include);
    } else {
      this.controller.items.forEach((i) => items.push(i));
    }
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    const run = this.controller.createTestRun(request, 'testgen', false);
    this.profileRuns++;
    try {
      for (const item of items.filter((i) => !excluded.has(i.id) && i.uri)) {
        if (token.isCancellationRequested) {
          run.skipped(item);
          continue;
        }
        run.started(item);
        await this.runFolder(run, item, token);
      }
      await this.refreshSummaries(items);
      this.addCoverage(run);
    } finally {
      this.profileRuns--;
      run.end();
    }
  }

  private async runFolder(run: vscode.TestRun, item: vscode.TestItem, token: vscode.CancellationToken): Promise<void> {
    try {
      const result = await this.server.executeCommand(ServerCommands.runTests, { uri: item.uri?.toString() }, token);
      const { state, message } = runState(result);
      run.appendOutput(`${item.label}: ${message}\r\n`);
      if (state === 'passed') {
        run.passed(item);
      } else if (state === 'failed') {
        run.failed(item, new vscode.TestMessage(message));
      } else {
        run.errored(item, new vscode.TestMessage(message));
      }
    } catch (e) {
      run.errored(item, new vscode.TestMessage(`testgen: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** Pulls the summaries after a profile run (its notifications were held back). */
  private async refreshSummaries(items: readonly vscode.TestItem[]): Promise<void> {
    for (const item of items) {
      try {
        const v = await this.server.request(Methods.coverageSummary, { uri: item.uri?.toString() });
        if (v !== null && v !== undefined) {
          this.store.set(parseSummary(v));
        }
      } catch (e) {
        this.output.appendLine(`testgen/coverageSummary for ${item.label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private async details(fc: FileCoverage, token: vscode.CancellationToken): Promise<FileCoverageDetail[]> {
    const uri = this.serverUris.get(fc.uri.toString()) ?? fc.uri.toString();
    let result;
    try {
      result = parseFileCoverage(await this.server.request(Methods.fileCoverage, { uri }, token));
    } catch (e) {
      this.output.appendLine(`testgen/fileCoverage for ${uri}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
    if (!result) {
      return [];
    }
    let doc: vscode.TextDocument;
    try {
      doc = await vscode.workspace.openTextDocument(fc.uri);
    } catch (e) {
      // Deleted or unreadable since it was measured: nothing to show on it.
      this.output.appendLine(`${fc.uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
    const d = fileDetails(result, { lineCount: doc.lineCount, text: (l) => doc.lineAt(l).text });
    const { StatementCoverage, BranchCoverage, DeclarationCoverage } = this.api;
    const out: FileCoverageDetail[] = d.statements.map(
      (s) =>
        new StatementCoverage(
          s.executed,
          range(s.span),
          s.branches.map((b) => new BranchCoverage(b.executed, undefined, b.label)),
        ),
    );
    for (const decl of d.declarations) {
      out.push(new DeclarationCoverage(decl.name, decl.executed, range(decl.span)));
    }
    return out;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.controller.dispose();
  }
}

function range(s: Span): vscode.Range {
  return new vscode.Range(s.startLine, s.startCharacter, s.endLine, s.endCharacter);
}
