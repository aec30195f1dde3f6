//! A local OpenAI-compatible server for the LLM tests: plain HTTP/1.1 on
//! 127.0.0.1, a script deciding each answer from the request, and a record
//! of every request exactly as it arrived (method, path with query, headers,
//! JSON body). Answers have the shape OpenAI's chat completions have.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The raw request bytes (for grepping for the key).
    pub raw: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of every message, joined.
    pub fn text(&self) -> String {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|m| m["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    pub fn last_role(&self) -> String {
        self.body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["role"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    /// A chat completion whose message is `content`.
    pub fn text(content: &str) -> Reply {
        Reply::completion(json!({"role": "assistant", "content": content}), "stop")
    }

    /// A chat completion asking for `get_info(name)`.
    pub fn tool_call(name: &str) -> Reply {
        Reply::completion(
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_info", "arguments": json!({"name": name}).to_string()}
                }]
            }),
            "tool_calls",
        )
    }

    fn completion(message: Value, finish: &str) -> Reply {
        let body = json!({
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1_700_000_000u32,
            "model": "stub-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": null}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
        });
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// An error in OpenAI's shape.
    pub fn error(status: u16, message: &str, code: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}}).to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Script = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

pub struct Stub {
    pub addr: std::net::SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Stub {
    /// Serves until the test process ends; `script(request, n)` answers the
    /// n-th request (0-based).
    pub fn start(script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (r, f, m) = (requests.clone(), in_flight.clone(), max_in_flight.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (r, f, m, script) = (r.clone(), f.clone(), m.clone(), script.clone());
                std::thread::spawn(move || serve(conn, &r, &f, &m, &*script));
            }
        });
        Stub {
            addr,
            requests,
            in_flight,
            max_in_flight,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(
    conn: TcpStream,
    requests: &Mutex<Vec<Recorded>>,
    in_flight: &AtomicUsize,
    max_in_flight: &AtomicUsize,
    script: &Script,
) {
    // One request per connection (`connection: close`).
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut raw = line.clone();
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            raw.push_str(&h);
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        raw.push_str(&String::from_utf8_lossy(&body));
        let rec = Recorded {
            method,
            path,
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            raw,
        };
        let n = {
            let mut r = requests.lock().unwrap();
            r.push(rec.clone());
            r.len() - 1
        };
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max_in_flight.fetch_max(now, Ordering::SeqCst);
        let reply = script(&rec, n);
        std::thread::sleep(reply.delay);
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let reason = match reply.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            429 => "Too Many Requests",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            reply.status,
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        let mut w = &conn;
        let _ = w.write_all(out.as_bytes());
        let _ = w.flush();
    }
}
