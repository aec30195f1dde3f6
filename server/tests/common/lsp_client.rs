//! A small LSP client that drives the real `testgen --stdio` binary the way
//! an editor does: Content-Length framing over pipes, answers to the
//! server's own requests, a log of every notification received, and an
//! editor's model of the open documents that applies `workspace/applyEdit`
//! the way real editors do (`editor_model.rs`) instead of writing files.
#![allow(dead_code)]

#[path = "editor_model.rs"]
pub mod editor_model;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use editor_model::Editor;

pub struct LspClient {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Every notification and server request seen, in order.
    pub seen: Vec<Value>,
    /// What `workspace/configuration` answers (the `testgen` section).
    pub config: Value,
    /// The documents this client has open, as an editor holds them.
    pub editor: Editor,
    /// Responses that arrived while waiting for another one.
    responses: std::collections::HashMap<i64, Value>,
    /// Every line the server wrote to stderr (its log), in order.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Generous: on a loaded 2-core CI machine a pytest run with coverage can
/// take tens of seconds; a missing message still fails, only later.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// How long a wait lasts: [`TIMEOUT`], or `TESTGEN_TEST_WAIT_S` seconds
/// (shorter when running the tests against a build with a behaviour
/// removed, where the awaited message never comes).
pub fn wait_limit() -> Duration {
    std::env::var("TESTGEN_TEST_WAIT_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(TIMEOUT, Duration::from_secs)
}

impl LspClient {
    pub fn start() -> LspClient {
        Self::start_with_log("testgen=debug")
    }

    /// Without debug logging (benchmarks: logging is not what is measured).
    pub fn start_quiet() -> LspClient {
        Self::start_with_log("warn")
    }

    /// Started with `cwd` as its working directory (an editor started from
    /// anywhere).
    pub fn start_in(cwd: &Path) -> LspClient {
        Self::spawn("testgen=debug", Some(cwd), &[])
    }

    fn start_with_log(filter: &str) -> LspClient {
        Self::spawn(filter, None, &[])
    }

    /// With `RUST_LOG=filter` and the variables `env` set (the secret-scan
    /// tests read its [`LspClient::log`]).
    pub fn start_with_env(filter: &str, env: &[(&str, &str)]) -> LspClient {
        Self::spawn(filter, None, env)
    }

    fn spawn(filter: &str, cwd: Option<&Path>, env: &[(&str, &str)]) -> LspClient {
        let mut cmd = Command::new(
            // As `common::testgen_bin` (benches include this file alone).
            std::env::var_os("TESTGEN_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_testgen").into()),
        );
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg("--stdio")
            .env("RUST_LOG", filter)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting testgen --stdio");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            // Server logs, visible with --nocapture.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if let Ok(mut l) = keep.lock() {
                    l.push(line);
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut r) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        LspClient {
            child,
            stdin,
            rx,
            next_id: 1,
            seen: Vec::new(),
            config: json!({}),
            responses: std::collections::HashMap::new(),
            editor: Editor::default(),
            log,
        }
    }

    pub fn send_raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, msg: &Value) {
        self.send_raw(msg.to_string().as_bytes());
    }

    /// Sends a notification; document notifications also update the model.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.editor.observe(method, &params);
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Saves an open buffer (`:w`): writes it and sends didSave.
    pub fn save(&mut self, uri: &str) -> Result<(), String> {
        let (method, params) = self.editor.save(uri)?;
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
        Ok(())
    }

    /// Saves every buffer with unsaved changes (`:wall`).
    pub fn save_all(&mut self) -> Result<(), String> {
        for uri in self.editor.unsaved() {
            self.save(&uri)?;
        }
        Ok(())
    }

    /// Applies a workspace edit to the model; the editor tells the server
    /// about the buffers it opened and changed before it answers.
    fn apply_edit(&mut self, params: &Value) -> Value {
        match self.editor.apply(&params["edit"]) {
            Ok(notes) => {
                for (method, params) in notes {
                    self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
                }
                json!({"applied": true})
            }
            Err(reason) => json!({"applied": false, "failureReason": reason}),
        }
    }

    /// Sends a request and waits for its response: Ok(result) or Err(error).
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// Sends a request without waiting; its answer is `response(id)`.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn response(&mut self, id: i64) -> Result<Value, Value> {
        let deadline = Instant::now() + wait_limit();
        loop {
            let msg = match self.responses.remove(&id) {
                Some(m) => m,
                None => self
                    .next(deadline)
                    .unwrap_or_else(|| panic!("no response to request {id}")),
            };
            if msg.get("method").is_some() {
                continue;
            }
            match msg["id"].as_i64() {
                Some(got) if got == id => {
                    return match msg.get("error") {
                        Some(e) => Err(e.clone()),
                        None => Ok(msg["result"].clone()),
                    }
                }
                Some(other) => {
                    self.responses.insert(other, msg);
                }
                None => {}
            }
        }
    }

    /// The next message from the server; answers server requests on the way.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match self.rx.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its stdout"),
        };
        if let (Some(method), Some(id)) = (msg.get("method"), msg.get("id")) {
            let result = match method.as_str().unwrap() {
                "workspace/configuration" => json!([self.config]),
                "workspace/applyEdit" => self.apply_edit(&msg["params"]),
                _ => Value::Null,
            };
            self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
        }
        // Notifications, server requests, and answers to no request (the
        // error a malformed message gets has id null).
        if noteworthy(&msg) {
            self.seen.push(msg.clone());
        }
        Some(msg)
    }

    /// Handles server messages for `d` (instead of sleeping: an editor keeps
    /// answering the server's requests while the user waits).
    pub fn pump(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while self.next(deadline).is_some() {}
    }

    /// Waits for a notification (or server request) matching `pred`, looking
    /// first at those seen since `from` (an index into `seen`).
    pub fn wait_for(&mut self, from: usize, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(m) = self.seen[from.min(self.seen.len())..]
            .iter()
            .find(|m| pred(m))
        {
            return m.clone();
        }
        let deadline = Instant::now() + wait_limit();
        loop {
            let Some(msg) = self.next(deadline) else {
                panic!("timed out waiting for {what}; seen: {:#?}", self.seen);
            };
            if noteworthy(&msg) && pred(&msg) {
                return msg;
            }
        }
    }

    /// Waits for diagnostics of `uri` that satisfy `pred`; returns them.
    pub fn diagnostics(
        &mut self,
        from: usize,
        uri: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let msg = self.wait_for(from, &format!("diagnostics of {uri} as expected"), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && pred(m["params"]["diagnostics"].as_array().unwrap())
        });
        msg["params"]["diagnostics"].as_array().unwrap().clone()
    }

    pub fn initialize(&mut self, root: &Path, options: Value) -> Value {
        let uri = file_uri(root);
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": uri,
                    "workspaceFolders": [{"uri": uri, "name": "ws"}],
                    "initializationOptions": options,
                    "capabilities": {
                        "general": {"positionEncodings": ["utf-16"]},
                        "window": {"workDoneProgress": true},
                        "workspace": {
                            "configuration": true,
                            "applyEdit": true,
                            "codeLens": {"refreshSupport": true},
                            "workspaceFolders": true
                        },
                        "textDocument": {"synchronization": {"didSave": true}}
                    }
                }),
            )
            .expect("initialize");
        self.notify("initialized", json!({}));
        result
    }

    pub fn shutdown(mut self) -> std::process::ExitStatus {
        self.request("shutdown", Value::Null).expect("shutdown");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit after `exit`"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens the file at `path` with its text on disk, as an editor does;
    /// its URI.
    pub fn open_file(&mut self, path: &Path) -> String {
        let uri = file_uri(path);
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        uri
    }

    /// The server's exit status, once it has ended.
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// The server's process id (to look for its children in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `seen` keeps: notifications, server requests, errors.
fn noteworthy(msg: &Value) -> bool {
    msg.get("method").is_some() || msg["id"].is_null() || msg.get("error").is_some()
}

fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

pub fn file_uri(p: &Path) -> String {
    format!("file://{}", p.display())
}
