// Commands. The server's own (testgen.fixTest, testgen.runTests,
// testgen.refreshCoverage, testgen.showReport, testgen.generateTests) are
// registered by vscode-languageclient under their own ids from the server's
// executeCommandProvider; registering them again here would fail with
// "command already exists". The palette entries of package.json name those
// ids, and the client's executeCommand middleware below fills in the
// arguments a palette call lacks and shows the answers. Only
// testgen.generateForFile and testgen.restartServer are the extension's own.

import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';

import { ClientCommands, parseShowReport, ServerCommands } from './pure/protocol';
import { cancelledMessage, errorToShow, failingTests, generateMessage, runMessage } from './pure/present';
import type { TestgenServer } from './server';

type Next = Parameters<NonNullable<Middleware['executeCommand']>>[2];

function activeFileUri(): vscode.Uri | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return uri?.scheme === 'file' && vscode.workspace.getWorkspaceFolder(uri) ? uri : undefined;
}

function activePythonUri(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.languageId === 'python' ? activeFileUri() : undefined;
}

function hasArgument(args: unknown[]): boolean {
  return args.length > 0 && typeof args[0] === 'object' && args[0] !== null;
}

async function pickFailingTest(): Promise<{ uri: string; nodeid: string } | undefined> {
  const uri = activePythonUri();
  if (!uri) {
    void vscode.window.showInformationMessage('testgen: open the test file with the failing test first.');
    return undefined;
  }
  const failing = failingTests(vscode.languages.getDiagnostics(uri));
  if (failing.length === 0) {
    void vscode.window.showInformationMessage('testgen: no failing test in this file.');
    return undefined;
  }
  const pick =
    failing.length === 1
      ? failing[0]
      : (
          await vscode.window.showQuickPick(
            failing.map((f) => ({ label: f.nodeid, detail: f.message, test: f })),
            { placeHolder: 'Failing test to fix' },
          )
        )?.test;
  return pick ? { uri: uri.toString(), nodeid: pick.nodeid } : undefined;
}

/** The arguments of a palette call (none given); undefined: the user cancelled or nothing to do. */
async function fillArguments(command: string, args: unknown[]): Promise<unknown[] | undefined> {
  if (hasArgument(args)) {
    return args;
  }
  const uri = activeFileUri()?.toString();
  switch (command) {
    case ServerCommands.fixTest: {
      const a = await pickFailingTest();
      return a ? [a] : undefined;
    }
    case ServerCommands.generateTests: {
      const py = activePythonUri();
      if (!py) {
        void vscode.window.showInformationMessage('testgen: open a Python file of the workspace first.');
        return undefined;
      }
      return [{ uri: py.toString() }];
    }
    case ServerCommands.runTests:
    case ServerCommands.showReport:
      // The active file picks the workspace folder; without one the server takes the first.
      return [uri ? { uri } : {}];
    default:
      return args;
  }
}

async function showReport(result: unknown, output: vscode.OutputChannel): Promise<void> {
  let report;
  try {
    report = parseShowReport(result);
  } catch (e) {
    output.appendLine(`testgen.showReport answered something the extension does not understand: ${String(e)}`);
    void vscode.window.showErrorMessage('testgen: the server sent a report the extension cannot show (details in the output).');
    return;
  }
  if (report.html && (await vscode.env.openExternal(vscode.Uri.file(report.html)))) {
    return;
  }
  const text = report.text.trim() || 'Nothing measured yet: run the tests first.';
  await vscode.window.showInformationMessage('testgen coverage', { modal: true, detail: text });
}

async function present(command: string, result: unknown, output: vscode.OutputChannel): Promise<void> {
  const cancelled = cancelledMessage(result);
  if (cancelled !== undefined) {
    vscode.window.setStatusBarMessage(cancelled, 5000);
    return;
  }
  switch (command) {
    case ServerCommands.showReport:
      await showReport(result, output);
      break;
    case ServerCommands.runTests:
      void vscode.window.showInformationMessage(runMessage(result));
      break;
    case ServerCommands.generateTests:
      void vscode.window.showInformationMessage(generateMessage(result));
      break;
    case ServerCommands.refreshCoverage:
      vscode.window.setStatusBarMessage('testgen: coverage reloaded', 3000);
      break;
    default:
      break;
  }
}

/** The language client's executeCommand middleware. */
export function commandMiddleware(output: vscode.OutputChannel): NonNullable<Middleware['executeCommand']> {
  return async (command: string, args: unknown[], next: Next) => {
    const filled = await fillArguments(command, args);
    if (filled === undefined) {
      return undefined;
    }
    let result: unknown;
    try {
      result = await next(command, filled);
    } catch (e) {
      const message = errorToShow(e);
      if (message) {
        void vscode.window.showErrorMessage(message);
      }
      return undefined;
    }
    await present(command, result, output);
    return result;
  };
}

export function registerCommands(ctx: vscode.ExtensionContext, server: TestgenServer): void {
  ctx.subscriptions.push(
    vscode.commands.registerCommand(ClientCommands.generateForFile, async (target?: vscode.Uri) => {
      const uri = target instanceof vscode.Uri ? target : activePythonUri();
      if (!uri) {
        void vscode.window.showInformationMessage('testgen: open a Python file of the workspace first.');
        return;
      }
      if (!server.running) {
        void vscode.window.showErrorMessage('testgen: the language server is not running (see the "testgen" output).');
        return;
      }
      await vscode.commands.executeCommand(ServerCommands.generateTests, { uri: uri.toString() });
    }),
    vscode.commands.registerCommand(ClientCommands.restartServer, () => server.restart()),
  );
}
