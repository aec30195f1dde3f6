// Loads a packaged extension (the unzipped .vsix's extension/ folder) under
// node with fake-vscode.js standing in for VS Code, and drives it against
// the real `testgen lsp` on a fixture project with one failing test.
// Usage: node drive.js EXTENSION_DIR PROJECT TESTGEN_BINARY PYTHON
'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');

const [extDir, proj, binary, python] = process.argv.slice(2);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? require.resolve('./fake-vscode.js') : resolve.call(this, request, ...rest);
};
const vscode = require('vscode');
const h = vscode.harness;
const r = h.record;

const pkg = JSON.parse(fs.readFileSync(path.join(extDir, 'package.json'), 'utf8'));
const props = pkg.contributes.configuration.properties;
h.setDefaults(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.default])));
h.folders.push({ uri: vscode.Uri.file(proj), name: path.basename(proj), index: 0 });
h.settings.global['testgen.path'] = binary;
h.settings.global['testgen.python'] = python;
h.settings.workspace['testgen.uncoveredSeverity'] = 'warning';

function doc(rel) {
  const uri = vscode.Uri.file(path.join(proj, rel));
  const text = fs.readFileSync(uri.fsPath, 'utf8');
  const lines = text.split('\n');
  return {
    uri,
    fileName: uri.fsPath,
    languageId: 'python',
    version: 1,
    isClosed: false,
    isDirty: false,
    isUntitled: false,
    lineCount: lines.length,
    eol: 1,
    getText: () => text,
    lineAt: (l) => ({ text: lines[l] }),
  };
}
const source = doc('plainlib/pricing.py');
const testFile = doc('tests/test_fail.py');
vscode.workspace.textDocuments.push(source, testFile);

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
async function waitFor(f, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const v = f();
    if (v) return v;
    await sleep(100);
  }
  return undefined;
}
const counts = { passed: 0, failed: 0 };
function check(ok, what) {
  counts[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}`);
}
const codeOf = (d) => (d.code && typeof d.code === 'object' ? d.code.value : d.code);
const diag = (d, code, severity) =>
  vscode.languages.getDiagnostics(d.uri).find((x) => codeOf(x) === code && (severity === undefined || x.severity === severity));
const serverCommands = ['testgen.generateTests', 'testgen.fixTest', 'testgen.runTests', 'testgen.refreshCoverage'];

async function coverageChecks() {
  const run = await waitFor(() => r.runs.find((x) => x.coverage.length > 0), 20000);
  check(!!run, 'testgen/coverageChanged from the server became a test run with coverage');
  if (!run) return;
  check(run.ended, `coverageChanged became an ended test run with ${run.coverage.length} FileCoverage`);
  const fc = run.coverage.find((c) => c.uri.path.endsWith('pricing.py'));
  check(!!fc && fc.statementCoverage.total > 0, 'pricing.py has statement counts');
  check(
    r.statusBar.some((s) => /^testgen \d+\.\d%$/.test(s.text) && /Lines .*% of|Lines \d/.test(s.tooltip)),
    `status bar shows the percent: ${JSON.stringify(r.statusBar.at(-1))}`,
  );
  const profile = r.controller.profiles[0];
  check(profile.kind === 3 && typeof profile.loadDetailedCoverage === 'function', 'coverage run profile with loadDetailedCoverage');
  const details = await profile.loadDetailedCoverage(run, fc, new vscode.CancellationTokenSource().token);
  console.log(`loadDetailedCoverage: ${details.length} items`);
  check(details.some((d) => d instanceof vscode.StatementCoverage), 'statement details');
  check(details.some((d) => d instanceof vscode.DeclarationCoverage), 'declaration details');
}

// Code lenses the way VS Code asks: the language client's provider sends
// textDocument/codeLens, then codeLens/resolve for each lens.
async function lensChecks() {
  const entry = r.codeLensProviders[0];
  check(!!entry, 'the language client registered a code lens provider');
  if (!entry) return;
  const token = new vscode.CancellationTokenSource().token;
  const lenses = (await entry.provider.provideCodeLenses(source, token)) || [];
  const titles = [];
  for (const lens of lenses) {
    const resolved = lens.command ? lens : await entry.provider.resolveCodeLens(lens, token);
    if (resolved && resolved.command) titles.push(resolved.command.title);
  }
  check(
    titles.some((t) => /not covered · Generate tests/.test(t)) && titles.some((t) => /% covered/.test(t)),
    `code lenses from the server: ${JSON.stringify(titles)}`,
  );
}

// "Generate tests for this file": the server writes the new test file (not
// open in the editor) and runs the suite again, whose coverage arrives as
// testgen/coverageChanged and becomes a new coverage run.
async function generateChecks() {
  const generated = path.join(proj, 'tests/generated/test_plainlib_pricing.py');
  const covered = (run) => {
    const fc = run && run.coverage.find((c) => c.uri.path.endsWith('plainlib/pricing.py'));
    return fc ? fc.statementCoverage.covered : -1;
  };
  const runsBefore = r.runs.length;
  const before = covered(r.runs.filter((x) => x.coverage.length > 0).at(-1));
  await vscode.commands.executeCommand('testgen.generateForFile', source.uri);
  check(fs.existsSync(generated) && /def test_/.test(fs.readFileSync(generated, 'utf8')), `generated tests on disk: ${generated}`);
  const after = await waitFor(() => r.runs.slice(runsBefore).find((x) => covered(x) > before), 180000);
  check(!!after, `coverage of pricing.py rose after generating (${before} -> ${covered(after)} statements)`);
  if (!after) return;
  const profile = r.controller.profiles[0];
  const fc = after.coverage.find((c) => c.uri.path.endsWith('plainlib/pricing.py'));
  const details = await profile.loadDetailedCoverage(after, fc, new vscode.CancellationTokenSource().token);
  check(
    details.some((d) => d instanceof vscode.DeclarationCoverage && d.name.includes('bulk_price') && d.executed),
    'loadDetailedCoverage (testgen/fileCoverage): the generated tests run bulk_price',
  );
}

async function reportChecks() {
  const before = r.messages.length;
  await vscode.commands.executeCommand('testgen.showReport');
  const shown = r.messages.slice(before);
  check(shown.some((m) => m.kind === 'openExternal' || (m.kind === 'info' && m.detail)), `showReport opened or showed the report: ${JSON.stringify(shown)}`);
}

(async () => {
  const ext = require(path.join(extDir, pkg.main));
  const ctx = { subscriptions: [], extensionPath: extDir, extension: { packageJSON: pkg }, extensionUri: vscode.Uri.file(extDir) };
  const t0 = Date.now();
  await ext.activate(ctx);
  console.log(`activated in ${Date.now() - t0} ms`);
  check(r.context['testgen.serverRunning'] === true, 'server started from testgen.path');
  check(serverCommands.every((c) => h.commands.has(c)), 'the language client registered the server commands');
  check(h.commands.has('testgen.generateForFile') && h.commands.has('testgen.restartServer'), 'own commands registered without "already exists"');

  // Palette "Run tests" with the test file active: the middleware adds its uri.
  h.state.activeTextEditor = { document: testFile };
  const res = await vscode.commands.executeCommand('testgen.runTests');
  check(res && res.outcome === 'tests_failed', `pytest ran in testgen.python: ${JSON.stringify(res && res.counts)}`);
  check(r.messages.some((m) => m.kind === 'info' && /^testgen: tests failed \(\d+ passed, 1 failed\)/.test(m.msg)), 'run answer shown as one line');

  const failing = await waitFor(() => diag(testFile, 'failing-test'), 20000);
  check(failing && failing.data && failing.data.key === 'tests/test_fail.py::test_bad', 'failing-test diagnostic carries its node id');
  check(!!(await waitFor(() => diag(source, 'uncovered-function', vscode.DiagnosticSeverity.Warning), 20000)), 'workspace setting uncoveredSeverity=warning reached the server');

  await coverageChecks();
  await lensChecks();
  await reportChecks();

  // Palette "Fix failing test" without arguments: picked from the diagnostics.
  let before = r.messages.length;
  await vscode.commands.executeCommand('testgen.fixTest');
  await sleep(300);
  const fixMessages = r.messages.slice(before).filter((m) => /test_bad/.test(m.msg));
  check(fixMessages.length === 1, `fixTest reached the server with the picked node id, answer shown once: ${JSON.stringify(fixMessages)}`);

  await vscode.commands.executeCommand('testgen.refreshCoverage');
  check(r.messages.some((m) => m.kind === 'status' && /reloaded/.test(m.msg)), 'refreshCoverage confirmed');

  // Unsetting a setting: the server keeps the initializationOptions value; the user is offered a restart.
  before = r.messages.length;
  delete h.settings.workspace['testgen.uncoveredSeverity'];
  h.changeConfiguration(['testgen.uncoveredSeverity']);
  check(!!(await waitFor(() => r.messages.slice(before).find((m) => /uncoveredSeverity was removed/.test(m.msg)), 5000)), 'removed setting: restart offered');
  check(!!(await waitFor(() => diag(source, 'uncovered-function', vscode.DiagnosticSeverity.Information), 30000)), 'after the restart the server default is back');

  // Last: the generated tests cover pricing.py's uncovered functions,
  // whose diagnostics the checks above look at.
  await generateChecks();

  await vscode.commands.executeCommand('testgen.restartServer');
  check(r.context['testgen.serverRunning'] === true && serverCommands.every((c) => h.commands.has(c)), 'restart command: commands registered again');

  await ext.deactivate();
  check(r.context['testgen.serverRunning'] === false, 'deactivate stops the server');
  const errors = r.messages.filter((m) => m.kind === 'error');
  if (errors.length) console.log(`error messages shown: ${JSON.stringify(errors)}`);
  console.log(`smoke: ${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed ? 1 : 0);
})().catch((e) => {
  console.error('smoke crashed:', e);
  process.exit(2);
});
