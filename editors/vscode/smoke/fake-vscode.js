// A stand-in for the part of VS Code's extension API that
// vscode-languageclient and this extension touch, so that the packaged
// extension runs under plain node against the real `testgen lsp` (there is
// no VS Code on the build machines). It records what the extension shows.
// Commands behave like VS Code's: registering an id twice throws.
// Members nobody here looks into become inert stubs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const record = { messages: [], statusBar: [], runs: [], output: [], context: {}, controller: undefined, codeLensProviders: [] };

class Disposable {
  constructor(f) {
    this.f = f;
  }
  dispose() {
    if (this.f) this.f();
    this.f = undefined;
  }
  static from(...ds) {
    return new Disposable(() => ds.forEach((d) => d && d.dispose && d.dispose()));
  }
}

class EventEmitter {
  constructor() {
    this.listeners = [];
    this.event = (listener, thisArg, disposables) => {
      const f = thisArg ? listener.bind(thisArg) : listener;
      this.listeners.push(f);
      const d = new Disposable(() => {
        this.listeners = this.listeners.filter((x) => x !== f);
      });
      if (Array.isArray(disposables)) disposables.push(d);
      return d;
    };
  }
  fire(e) {
    for (const l of [...this.listeners]) l(e);
  }
  dispose() {
    this.listeners = [];
  }
}

class Uri {
  constructor(scheme, p) {
    this.scheme = scheme;
    this.path = p;
    this.authority = '';
    this.query = '';
    this.fragment = '';
  }
  get fsPath() {
    return this.path;
  }
  toString() {
    return `${this.scheme}://${this.path.split('/').map(encodeURIComponent).join('/')}`;
  }
  toJSON() {
    return this.toString();
  }
  with(c) {
    return new Uri(c.scheme ?? this.scheme, c.path ?? this.path);
  }
  static file(p) {
    return new Uri('file', path.resolve(p));
  }
  static parse(s) {
    const m = /^([a-z][\w+.-]*):\/\/([^?#]*)/i.exec(s);
    return m ? new Uri(m[1], decodeURIComponent(m[2])) : new Uri('file', s);
  }
}

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(a, b, c, d) {
    if (a instanceof Position) {
      this.start = a;
      this.end = b;
    } else {
      this.start = new Position(a, b);
      this.end = new Position(c, d);
    }
  }
}

class Diagnostic {
  constructor(range, message, severity) {
    this.range = range;
    this.message = message;
    this.severity = severity;
  }
}

class CancellationTokenSource {
  constructor() {
    this.emitter = new EventEmitter();
    this.token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  }
  cancel() {
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose() {}
}

class Kind {
  constructor(value) {
    this.value = value;
  }
  append(p) {
    return new Kind(this.value ? `${this.value}.${p}` : p);
  }
  contains(o) {
    return o.value === this.value || o.value.startsWith(`${this.value}.`);
  }
  intersects(o) {
    return this.contains(o) || o.contains(this);
  }
}

function stubClass(name) {
  const C = class {
    constructor(...args) {
      this.stubOf = name;
      this.args = args;
    }
  };
  return new Proxy(C, { get: (t, p) => (p in t ? t[p] : typeof p === 'string' ? `${name}.${p}` : undefined) });
}

const inert = () => new Disposable();
/** Unknown `onX` members are events nobody fires, `registerX` are no-op registrations. */
function withStubs(target) {
  return new Proxy(target, {
    get(t, p) {
      if (p in t) return t[p];
      if (typeof p !== 'string') return undefined;
      if (p.startsWith('on') || p.startsWith('register') || p.startsWith('set')) return inert;
      return undefined;
    },
  });
}

// Settings: user and workspace values over the package.json defaults.
const settings = { global: {}, workspace: {} };
let defaults = {};
const configEmitter = new EventEmitter();
function getConfiguration(section) {
  const full = (k) => (section ? `${section}.${k}` : k);
  return {
    get(k, d) {
      const f = full(k);
      for (const layer of [settings.workspace, settings.global, defaults]) if (f in layer) return layer[f];
      return d;
    },
    has: (k) => full(k) in defaults,
    inspect(k) {
      const f = full(k);
      const r = { key: f, defaultValue: defaults[f] };
      if (f in settings.global) r.globalValue = settings.global[f];
      if (f in settings.workspace) r.workspaceValue = settings.workspace[f];
      return r;
    },
    update: () => Promise.resolve(),
  };
}

const commands = new Map();
const collections = [];
function diagnosticsByUri() {
  const out = new Map();
  for (const c of collections) for (const [k, v] of c.entries) out.set(k, [...(out.get(k) || []), ...v]);
  return out;
}
function createDiagnosticCollection(name) {
  const entries = new Map();
  const c = {
    name,
    entries,
    set(uri, ds) {
      if (Array.isArray(uri)) for (const [u, d] of uri) entries.set(u.toString(), d || []);
      else entries.set(uri.toString(), ds || []);
    },
    delete: (uri) => entries.delete(uri.toString()),
    clear: () => entries.clear(),
    get: (uri) => entries.get(uri.toString()) || [],
    has: (uri) => entries.has(uri.toString()),
    forEach: (f) => entries.forEach((v, k) => f(Uri.parse(k), v, c)),
    dispose: () => entries.clear(),
  };
  collections.push(c);
  return c;
}

const folders = [];
const state = { activeTextEditor: undefined };

const workspace = withStubs({
  get workspaceFolders() {
    return folders.length ? folders : undefined;
  },
  getWorkspaceFolder: (uri) => folders.find((f) => uri.toString().startsWith(f.uri.toString())),
  getConfiguration,
  onDidChangeConfiguration: configEmitter.event,
  textDocuments: [],
  createFileSystemWatcher: () => ({ onDidCreate: inert, onDidChange: inert, onDidDelete: inert, dispose() {} }),
  openTextDocument(uri) {
    const lines = fs.readFileSync(uri.fsPath, 'utf8').split('\n');
    return Promise.resolve({ uri, lineCount: lines.length, lineAt: (l) => ({ text: lines[l] }) });
  },
});

// Messages answer with a "Restart…" button when they offer one, else nothing.
function show(kind) {
  return (msg, ...items) => {
    const opts = items.find((i) => typeof i === 'object');
    record.messages.push({ kind, msg, detail: opts && opts.detail });
    log(`[${kind}] ${msg}${opts && opts.detail ? ` | ${opts.detail}` : ''}`);
    return Promise.resolve(items.find((i) => typeof i === 'string' && /^Restart/.test(i)));
  };
}

const window = withStubs({
  createOutputChannel: (name) => ({
    name,
    append: (s) => record.output.push(s),
    appendLine(s) {
      record.output.push(s);
      log(`  (${name}) ${s}`);
    },
    replace() {},
    clear() {},
    show() {},
    hide() {},
    dispose() {},
  }),
  showErrorMessage: show('error'),
  showWarningMessage: show('warning'),
  showInformationMessage: show('info'),
  showQuickPick: (items) => Promise.resolve(Array.isArray(items) ? items[0] : undefined),
  setStatusBarMessage(msg) {
    record.messages.push({ kind: 'status', msg });
    return new Disposable();
  },
  createStatusBarItem() {
    const item = {
      text: '',
      tooltip: '',
      show: () => record.statusBar.push({ text: item.text, tooltip: item.tooltip }),
      hide() {},
      dispose() {},
    };
    return item;
  },
  get activeTextEditor() {
    return state.activeTextEditor;
  },
  withProgress: (_o, task) => task({ report() {} }, new CancellationTokenSource().token),
});

// Code lenses as VS Code asks for them: the drive script calls the
// registered providers (vscode-languageclient's) the way the editor does.
class CodeLens {
  constructor(range, command) {
    this.range = range;
    this.command = command;
  }
  get isResolved() {
    return !!this.command;
  }
}

const languages = withStubs({
  createDiagnosticCollection,
  registerCodeLensProvider(selector, provider) {
    const entry = { selector, provider };
    record.codeLensProviders.push(entry);
    return new Disposable(() => {
      record.codeLensProviders = record.codeLensProviders.filter((e) => e !== entry);
    });
  },
  getDiagnostics: (uri) => diagnosticsByUri().get(uri.toString()) || [],
  match: () => 10,
});

const vscodeCommands = {
  registerCommand(id, f) {
    if (commands.has(id)) throw new Error(`command '${id}' already exists`);
    commands.set(id, f);
    return new Disposable(() => commands.delete(id));
  },
  executeCommand(id, ...args) {
    if (id === 'setContext') {
      record.context[args[0]] = args[1];
      return Promise.resolve();
    }
    const f = commands.get(id);
    if (!f) return Promise.reject(new Error(`command '${id}' not found`));
    try {
      return Promise.resolve(f(...args));
    } catch (e) {
      return Promise.reject(e);
    }
  },
  getCommands: () => Promise.resolve([...commands.keys()]),
};

// The testing API with VS Code 1.88's coverage classes; runs are recorded.
class TestCoverageCount {
  constructor(covered, total) {
    Object.assign(this, { covered, total });
  }
}
class FileCoverage {
  constructor(uri, statementCoverage, branchCoverage, declarationCoverage) {
    Object.assign(this, { uri, statementCoverage, branchCoverage, declarationCoverage });
  }
}
class StatementCoverage {
  constructor(executed, location, branches = []) {
    Object.assign(this, { executed, location, branches });
  }
}
class BranchCoverage {
  constructor(executed, location, label) {
    Object.assign(this, { executed, location, label });
  }
}
class DeclarationCoverage {
  constructor(name, executed, location) {
    Object.assign(this, { name, executed, location });
  }
}
class TestRunRequest {
  constructor(include, exclude, profile) {
    Object.assign(this, { include, exclude, profile });
  }
}
class TestMessage {
  constructor(message) {
    this.message = message;
  }
}

function createTestRun(request, name) {
  const run = {
    name,
    request,
    coverage: [],
    states: [],
    output: '',
    ended: false,
    addCoverage: (c) => run.coverage.push(c),
    started: (i) => run.states.push(['started', i.id]),
    passed: (i) => run.states.push(['passed', i.id]),
    failed: (i, m) => run.states.push(['failed', i.id, m.message]),
    errored: (i, m) => run.states.push(['errored', i.id, m.message]),
    skipped: (i) => run.states.push(['skipped', i.id]),
    appendOutput: (s) => (run.output += s),
    end: () => (run.ended = true),
  };
  record.runs.push(run);
  return run;
}

const tests = {
  createTestController(id, label) {
    const items = new Map();
    const controller = {
      id,
      label,
      profiles: [],
      items: {
        replace: (xs) => {
          items.clear();
          xs.forEach((x) => items.set(x.id, x));
        },
        forEach: (f) => items.forEach((x) => f(x)),
        get: (i) => items.get(i),
      },
      createTestItem: (itemId, itemLabel, uri) => ({ id: itemId, label: itemLabel, uri }),
      createRunProfile(profileLabel, kind, runHandler, isDefault) {
        const p = { label: profileLabel, kind, runHandler, isDefault, dispose() {} };
        controller.profiles.push(p);
        return p;
      },
      createTestRun,
      dispose() {},
    };
    record.controller = controller;
    return controller;
  },
};

const known = {
  Disposable,
  EventEmitter,
  Uri,
  Position,
  Range,
  Diagnostic,
  CodeLens,
  CancellationTokenSource,
  CancellationError: class CancellationError extends Error {},
  CodeActionKind: {
    Empty: new Kind(''),
    QuickFix: new Kind('quickfix'),
    Refactor: new Kind('refactor'),
    Source: new Kind('source'),
    SourceOrganizeImports: new Kind('source.organizeImports'),
    SourceFixAll: new Kind('source.fixAll'),
  },
  DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
  TestRunProfileKind: { Run: 1, Debug: 2, Coverage: 3 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  TestCoverageCount,
  FileCoverage,
  StatementCoverage,
  BranchCoverage,
  DeclarationCoverage,
  TestRunRequest,
  TestMessage,
  workspace,
  window,
  languages,
  commands: vscodeCommands,
  tests,
  env: {
    openExternal(u) {
      record.messages.push({ kind: 'openExternal', msg: u.toString() });
      return Promise.resolve(true);
    },
    language: 'en',
    appName: 'fake-vscode (testgen smoke)',
    machineId: 'smoke',
    sessionId: 'smoke',
  },
  extensions: { getExtension: () => undefined, all: [] },
  version: '1.88.0',
};

const stubs = {};
module.exports = new Proxy(known, {
  get(t, p) {
    if (p in t) return t[p];
    if (typeof p !== 'string' || p === '__esModule' || p === 'then' || p === 'default') return undefined;
    return (stubs[p] ??= stubClass(p));
  },
});
known.harness = {
  record,
  settings,
  folders,
  state,
  commands,
  setDefaults: (d) => (defaults = d),
  changeConfiguration: (keys) =>
    configEmitter.fire({ affectsConfiguration: (s) => keys.some((k) => k === s || k.startsWith(`${s}.`)) }),
};
