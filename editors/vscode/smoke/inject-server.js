// Passes LSP traffic through to the real `testgen lsp`, and after the answer
// to testgen.runTests injects one testgen/coverageChanged notification
// shaped like docs/lsp-extensions.md's example (this branch's server does not
// send it yet). Only to exercise the client's side of that message.
'use strict';
const { spawn } = require('node:child_process');
const child = spawn(process.env.REAL_TESTGEN, process.argv.slice(2), { stdio: ['pipe', 'pipe', 'inherit'] });
process.stdin.pipe(child.stdin);
child.on('exit', (code) => process.exit(code ?? 1));
const root = 'file://' + process.env.SMOKE_PROJ;
let buf = Buffer.alloc(0);
let injected = false;
function frame(obj) { const b = Buffer.from(JSON.stringify(obj)); return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]); }
child.stdout.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, sep).toString())[1]);
    if (buf.length < sep + 4 + len) return;
    const body = buf.subarray(sep + 4, sep + 4 + len);
    process.stdout.write(buf.subarray(0, sep + 4 + len));
    buf = buf.subarray(sep + 4 + len);
    const msg = JSON.parse(body.toString());
    if (!injected && msg.result && typeof msg.result === 'object' && 'outcome' in msg.result) {
      injected = true;
      process.stdout.write(frame({ jsonrpc: '2.0', method: 'testgen/coverageChanged', params: {
        root, percent: 72.5, linePercent: 74.1, statements: 412, covered: 305,
        files: [{ uri: `${root}/plainlib/pricing.py`, statements: { covered: 30, total: 34 }, branches: { covered: 8, total: 12 }, declarations: { covered: 5, total: 6 } },
                { uri: `${root}/plainlib/text.py`, statements: { covered: 3, total: 10 } }] } }));
    }
  }
});
