// Entry point: wires the language client, the commands, the status bar and
// (on VS Code 1.88+) the native coverage view together.

import * as vscode from 'vscode';

import { commandMiddleware, registerCommands } from './commands';
import { coverageApi } from './coverageApi';
import { CoverageView } from './coverageView';
import { SummaryStore } from './pure/summaries';
import { TestgenServer } from './server';
import { CoverageStatus } from './statusBar';

let server: TestgenServer | undefined;

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('testgen');
  const store = new SummaryStore();
  const status = new CoverageStatus(store);
  server = new TestgenServer(ctx, output, {
    onCoverage: (s) => store.set(s),
    onRunning: (running) => {
      status.setRunning(running);
      void vscode.commands.executeCommand('setContext', 'testgen.serverRunning', running);
      if (!running) store.clear();
    },
    executeCommand: commandMiddleware(output),
  });
  ctx.subscriptions.push(output, status, server);

  const api = coverageApi();
  if (api) {
    ctx.subscriptions.push(new CoverageView(api, server, store, output));
  } else {
    output.appendLine(`VS Code ${vscode.version} has no test-coverage API (1.88+): coverage shows in the status bar and diagnostics only.`);
  }

  registerCommands(ctx, server);
  const current = server;
  ctx.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      // The binary is chosen at start; the server's own settings are pulled live.
      if (e.affectsConfiguration('testgen.path')) {
        void current.restart();
      } else if (e.affectsConfiguration('testgen')) {
        void current.settingsChanged();
      }
    }),
  );
  await server.start();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
