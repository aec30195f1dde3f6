// The language client: finds the binary, starts `testgen lsp`, answers the
// server's configuration requests with only the settings the user set, and
// hands the server's coverage notifications to the rest of the extension.

import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  type ConfigurationParams,
  ConfigurationRequest,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type Middleware,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { findServer, INSTALL_URL, type Discovery } from './pure/discovery';
import { ensureBundledExecutable, isExecutableFile } from './pure/fsenv';
import { Methods, parseSummary, type CoverageSummary } from './pure/protocol';
import { removedKeys, sectionOf, SECTION, serverKeys, userLayer, type Layer } from './pure/settings';

export interface ServerHooks {
  onCoverage(summary: CoverageSummary): void;
  onRunning(running: boolean): void;
  executeCommand: NonNullable<Middleware['executeCommand']>;
}

export class TestgenServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private watchers: vscode.Disposable[] = [];
  private readonly keys: string[];
  /** What initializationOptions carried: the server keeps it as its lowest layer. */
  private startLayer: Layer = {};
  private prompted = '';

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly output: vscode.OutputChannel,
    private readonly hooks: ServerHooks,
  ) {
    this.keys = serverKeys(ctx.extension.packageJSON);
  }

  /** The client when the server is up, for requests. */
  get running(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  async start(): Promise<void> {
    const found = this.discover();
    if (found.kind === 'missing') {
      this.output.appendLine(found.message);
      void showMissing(found.message);
      return;
    }
    this.output.appendLine(`Starting ${found.path} lsp (found via ${describe(found.source)}).`);
    const folder = vscode.workspace.workspaceFolders?.[0];
    const serverOptions: ServerOptions = {
      command: found.path,
      args: ['lsp'],
      options: folder?.uri.scheme === 'file' ? { cwd: folder.uri.fsPath } : {},
    };
    this.watchers = [
      vscode.workspace.createFileSystemWatcher('**/.testgen/coverage.xml'),
      vscode.workspace.createFileSystemWatcher('**/pyproject.toml'),
    ];
    const client = new LanguageClient(SECTION, 'testgen', serverOptions, this.clientOptions());
    client.onNotification(Methods.coverageChanged, (payload: unknown) => this.coverage(payload));
    client.onDidChangeState((e) => this.hooks.onRunning(e.newState === State.Running));
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      // The client has already shown "Starting client failed" with a link to the output.
      this.output.appendLine(`testgen did not start: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    await this.pullSummaries();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose();
      } catch (e) {
        this.output.appendLine(`Stopping testgen: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const w of this.watchers) {
      w.dispose();
    }
    this.watchers = [];
    this.hooks.onRunning(false);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dispose(): void {
    void this.stop();
  }

  /** A custom request; rejects with a message when the server is not running. */
  async request(method: string, params: unknown, token?: vscode.CancellationToken): Promise<unknown> {
    const client = this.running;
    if (!client) {
      throw new Error('the testgen server is not running');
    }
    return client.sendRequest(method, params, token);
  }

  /** A server command without the palette's argument filling and messages (for the coverage view). */
  async executeCommand(command: string, args: object, token?: vscode.CancellationToken): Promise<unknown> {
    const client = this.running;
    if (!client) {
      throw new Error('the testgen server is not running');
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] }, token);
  }

  /** The settings layer for one scope (a folder or file URI, or the whole workspace). */
  layer(scope: vscode.Uri | undefined): Layer {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    return userLayer(this.keys, (key) => config.inspect(key));
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      outputChannel: this.output,
      // Errors are shown by the command middleware, once, with the server's reason.
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => {
        this.startLayer = this.layer(undefined);
        this.prompted = '';
        return this.startLayer;
      },
      synchronize: { configurationSection: SECTION, fileEvents: this.watchers as vscode.FileSystemWatcher[] },
      middleware: {
        workspace: {
          configuration: (params, token, next) => this.configuration(params, token, next),
          // Pull model: `settings: null` makes the server ask workspace/configuration,
          // which answers only what the user set (never VS Code's defaults).
          didChangeConfiguration: (_sections, next) => next(undefined),
        },
        executeCommand: this.hooks.executeCommand,
      },
    };
  }

  /**
   * After a settings change. A changed or added key reaches the server
   * through workspace/configuration; a key the user removed does not undo
   * what initializationOptions gave the server at start (a lower layer it
   * keeps), so say so and offer the restart that clears it.
   */
  async settingsChanged(): Promise<void> {
    if (!this.running) {
      return;
    }
    const removed = removedKeys(this.startLayer, this.layer(undefined));
    const key = removed.join(',');
    if (removed.length === 0 || key === this.prompted) {
      return;
    }
    this.prompted = key;
    const restart = 'Restart server';
    const names = removed.map((k) => `testgen.${k}`).join(', ');
    const choice = await vscode.window.showInformationMessage(
      `testgen: ${names} ${removed.length === 1 ? 'was' : 'were'} removed from the settings; the server keeps the value it started with until it restarts.`,
      restart,
    );
    if (choice === restart) {
      await this.restart();
    }
  }

  private async configuration(
    params: ConfigurationParams,
    token: vscode.CancellationToken,
    next: ConfigurationRequest.HandlerSignature,
  ): Promise<unknown[] | ResponseError<void>> {
    const base = await Promise.resolve(next(params, token));
    if (base instanceof ResponseError) {
      return base;
    }
    const answers: unknown[] = Array.isArray(base) ? (base as unknown[]) : [];
    return params.items.map((item, i) => {
      const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
      return sectionOf(this.layer(scope), item.section) ?? answers[i] ?? null;
    });
  }

  private coverage(payload: unknown): void {
    try {
      this.hooks.onCoverage(parseSummary(payload));
    } catch (e) {
      this.output.appendLine(`Ignored a testgen/coverageChanged the extension does not understand: ${String(e)}`);
    }
  }

  /** A client that starts late missed the notifications: ask for each folder's summary. */
  private async pullSummaries(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      try {
        const v = await this.request(Methods.coverageSummary, { uri: folder.uri.toString() });
        if (v !== null && v !== undefined) {
          this.hooks.onCoverage(parseSummary(v));
        }
      } catch (e) {
        this.output.appendLine(`testgen/coverageSummary for ${folder.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  private discover(): Discovery {
    ensureBundledExecutable(this.ctx.extensionPath);
    const configured = vscode.workspace.getConfiguration(SECTION).get<string | null>('path');
    const folder = vscode.workspace.workspaceFolders?.[0];
    return findServer(configured, {
      platform: process.platform,
      pathVar: process.env.PATH,
      pathExt: process.env.PATHEXT,
      home: os.homedir(),
      workspaceFolder: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
      extensionPath: this.ctx.extensionPath,
      isFile: (p) => isExecutableFile(p),
    });
  }
}

function describe(source: 'setting' | 'bundled' | 'path'): string {
  return source === 'setting' ? 'testgen.path' : source === 'bundled' ? 'the bundled binary' : 'PATH';
}

async function showMissing(message: string): Promise<void> {
  const install = 'Install instructions';
  const setPath = 'Set testgen.path';
  const choice = await vscode.window.showErrorMessage(message, install, setPath);
  if (choice === install) {
    await vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
  } else if (choice === setPath) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'testgen.path');
  }
}
