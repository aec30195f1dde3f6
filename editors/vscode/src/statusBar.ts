// The project's coverage in the status bar (`testgen 72.5%`); a click
// shows the coverage report.

import * as vscode from 'vscode';

import { pickSummary, statusText, statusTooltip } from './pure/present';
import { ServerCommands } from './pure/protocol';
import type { SummaryStore } from './pure/summaries';

export class CoverageStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('testgen.coverage', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[] = [];
  private serverRunning = false;

  constructor(private readonly store: SummaryStore) {
    this.item.name = 'testgen coverage';
    this.item.command = ServerCommands.showReport;
    this.subscriptions.push(
      store.onChange(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
    );
  }

  setRunning(running: boolean): void {
    this.serverRunning = running;
    this.render();
  }

  private render(): void {
    if (!this.serverRunning) {
      // The report command exists only while the server runs.
      this.item.hide();
      return;
    }
    const s = pickSummary(this.store.all, vscode.window.activeTextEditor?.document.uri.toString());
    this.item.text = statusText(s);
    this.item.tooltip = statusTooltip(s);
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
