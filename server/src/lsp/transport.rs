//! Stdio framing in front of tower-lsp-server. tower-lsp-server answers an
//! undecodable message with a parse error, but the `FramedRead` under it
//! stops for good after any decode error (tokio-rs/tokio#3976), so one
//! malformed message from a client would end the session. This pump reads
//! frames itself, passes on only well-formed JSON-RPC messages, and answers
//! the others (-32700 parse error, -32600 invalid request) itself, merging
//! its answers frame by frame into the server's output. A malformed header
//! stays fatal: after it nobody knows where the next frame starts.
//!
//! It also enforces limits no handler could: a message larger than the
//! limit is skipped unread and answered with an error (a 100 MB didOpen
//! would otherwise exhaust memory), a header line is at most 8 KiB, `$/`
//! requests (which tower-lsp-server never answers) get MethodNotFound, and
//! it remembers whether `shutdown` came before `exit` (the exit code).

use serde_json::{json, Value};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;

/// Default limit of one message's body; `testgen lsp --max-message-mb`.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;
/// A header line longer than this is not a header.
const MAX_HEADER_LINE: usize = 8 << 10;

pub enum Frame {
    Body(Vec<u8>),
    /// A body over the limit, skipped: its length.
    TooLarge(usize),
    /// The stream ended (cleanly or on a broken header).
    End,
}

/// One header line, at most [`MAX_HEADER_LINE`] bytes; None at the end of
/// the stream or on a line that long (then framing is lost).
async fn header_line<R: AsyncBufRead + Unpin>(r: &mut R) -> Option<String> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await.ok()?;
        if buf.is_empty() {
            return None;
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if line.len() > MAX_HEADER_LINE {
            tracing::error!("an LSP header line over {MAX_HEADER_LINE} bytes: closing the session");
            return None;
        }
        if done {
            return Some(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

/// Reads one `Content-Length` frame; a body over `max_body` is skipped.
pub async fn read_frame<R: AsyncBufRead + Unpin>(r: &mut R, max_body: usize) -> Frame {
    let mut len: Option<usize> = None;
    loop {
        let Some(line) = header_line(r).await else {
            return Frame::End;
        };
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if len.is_some() {
                break;
            }
            continue; // stray blank line between frames
        }
        let Some((name, value)) = line.split_once(':') else {
            tracing::error!("malformed LSP header {line:?}: closing the session");
            return Frame::End;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            match value.trim().parse::<usize>() {
                Ok(n) => len = Some(n),
                _ => {
                    tracing::error!("bad Content-Length {value:?}: closing the session");
                    return Frame::End;
                }
            }
        }
    }
    let len = len.unwrap_or(0);
    if len > max_body {
        // Skipped without buffering: the stream goes on after it.
        let mut rest = (&mut *r).take(len as u64);
        return match tokio::io::copy(&mut rest, &mut tokio::io::sink()).await {
            Ok(n) if n == len as u64 => Frame::TooLarge(len),
            _ => Frame::End,
        };
    }
    let mut body = vec![0; len];
    match r.read_exact(&mut body).await {
        Ok(_) => Frame::Body(body),
        Err(_) => Frame::End,
    }
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, body: &[u8]) -> std::io::Result<()> {
    w.write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    w.write_all(body).await?;
    w.flush().await
}

/// Why a body cannot go to the server, as the JSON-RPC error to answer with.
fn reject(body: &[u8]) -> Option<Value> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(error(Value::Null, -32700, format!("Parse error: {e}"))),
    };
    let Some(obj) = v.as_object() else {
        return Some(error(
            Value::Null,
            -32600,
            "Invalid request: not a JSON object".into(),
        ));
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error(
            Value::Null,
            -32600,
            "Invalid request: jsonrpc must be \"2.0\"".into(),
        ));
    }
    let id_ok = matches!(
        obj.get("id"),
        None | Some(Value::Number(_) | Value::String(_))
    );
    let is_call = obj.get("method").is_some_and(Value::is_string);
    let is_response =
        obj.contains_key("id") && (obj.contains_key("result") || obj.contains_key("error"));
    if !id_ok || !(is_call || is_response) {
        let id = if id_ok { id } else { Value::Null };
        return Some(error(
            id,
            -32600,
            "Invalid request: not a JSON-RPC message".into(),
        ));
    }
    if is_call
        && obj
            .get("params")
            .is_some_and(|p| !(p.is_object() || p.is_array() || p.is_null()))
    {
        return Some(error(
            id,
            -32602,
            "Invalid params: must be an object or an array".into(),
        ));
    }
    None
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Pumps client frames from `input` into `to_server`, answering rejected
/// frames through `errors`. `ended` fires once the client sent `exit` or
/// closed its side: the session is over whatever the server still does.
/// `shutdown_seen` is set when `shutdown` was asked for (before `exit`, the
/// process exits 0, else 1, as the LSP specification says).
pub async fn pump_input<R, W>(
    input: R,
    mut to_server: W,
    errors: mpsc::UnboundedSender<Vec<u8>>,
    ended: tokio::sync::oneshot::Sender<()>,
    max_body: usize,
    shutdown_seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(input);
    loop {
        let body = match read_frame(&mut r, max_body).await {
            Frame::Body(b) => b,
            Frame::TooLarge(len) => {
                for answer in too_large(len, max_body) {
                    let _ = errors.send(answer.to_string().into_bytes());
                }
                continue;
            }
            Frame::End => break,
        };
        if let Some(answer) = reject(&body) {
            tracing::warn!("rejected a client message: {}", answer["error"]["message"]);
            let _ = errors.send(answer.to_string().into_bytes());
            continue;
        }
        let method = method_of(&body);
        if let Some(answer) = unanswered_request(&body, method.as_deref()) {
            let _ = errors.send(answer.to_string().into_bytes());
            continue;
        }
        if write_frame(&mut to_server, &body).await.is_err() {
            break;
        }
        match method.as_deref() {
            Some("shutdown") => shutdown_seen.store(true, std::sync::atomic::Ordering::SeqCst),
            Some("exit") => break,
            _ => {}
        }
    }
    let _ = ended.send(());
    // Closing the server's input ends the session as a closed stdin would.
    let _ = to_server.shutdown().await;
}

fn method_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("method").and_then(Value::as_str).map(String::from)
}

/// `$/` requests (with an id) are protocol-internal; tower-lsp-server drops
/// them without an answer, so a client waiting for one would wait forever.
fn unanswered_request(body: &[u8], method: Option<&str>) -> Option<Value> {
    let m = method?;
    if !m.starts_with("$/") {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v.get("id")?.clone();
    Some(error(id, -32601, format!("Method not found: {m}")))
}

/// The answer to a skipped oversized message: an error (its id is unknown,
/// so null) and a message the user sees.
fn too_large(len: usize, max: usize) -> [Value; 2] {
    let text = format!(
        "testgen: a message of {:.1} MB was refused: the limit is {} MB (testgen lsp --max-message-mb)",
        len as f64 / (1 << 20) as f64,
        max >> 20
    );
    tracing::warn!("{text}");
    [
        error(Value::Null, -32600, text.clone()),
        json!({"jsonrpc": "2.0", "method": "window/showMessage",
               "params": {"type": 1, "message": text}}),
    ]
}

/// Copies the server's frames and the pump's answers to `output`, whole
/// frames at a time so they never interleave.
pub async fn pump_output<R, W>(
    from_server: R,
    mut output: W,
    mut errors: mpsc::UnboundedReceiver<Vec<u8>>,
) where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(from_server);
    loop {
        tokio::select! {
            frame = read_frame(&mut r, usize::MAX) => match frame {
                Frame::Body(b) => {
                    if write_frame(&mut output, &b).await.is_err() {
                        break;
                    }
                }
                Frame::TooLarge(_) | Frame::End => break,
            },
            Some(b) = errors.recv() => {
                if write_frame(&mut output, &b).await.is_err() {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections() {
        assert_eq!(reject(b"{not json").unwrap()["error"]["code"], -32700);
        assert_eq!(reject(b"[1,2]").unwrap()["error"]["code"], -32600);
        assert_eq!(
            reject(br#"{"jsonrpc":"2.0","id":1}"#).unwrap()["error"]["code"],
            -32600
        );
        assert_eq!(reject(br#"{"jsonrpc":"2.0","id":1}"#).unwrap()["id"], 1);
        assert_eq!(
            reject(br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#).unwrap()["id"],
            Value::Null
        );
        assert!(reject(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#).is_some());
        assert_eq!(
            reject(br#"{"jsonrpc":"2.0","id":3,"method":"x","params":5}"#).unwrap()["error"]
                ["code"],
            -32602
        );
        assert!(reject(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).is_none());
        assert!(reject(br#"{"jsonrpc":"2.0","method":"exit"}"#).is_none());
        assert!(reject(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_none());
    }

    #[tokio::test]
    async fn frames_round_trip_and_bad_headers_end() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"a\":1}").await.unwrap();
        write_frame(&mut buf, b"{}").await.unwrap();
        buf.extend_from_slice(b"Content-Length: x\r\n\r\n");
        let mut r = BufReader::new(&buf[..]);
        assert!(matches!(read_frame(&mut r, 1000).await, Frame::Body(b) if b == b"{\"a\":1}"));
        assert!(matches!(read_frame(&mut r, 1000).await, Frame::Body(b) if b == b"{}"));
        assert!(matches!(read_frame(&mut r, 1000).await, Frame::End));
    }

    #[tokio::test]
    async fn an_oversized_body_is_skipped_and_the_next_frame_read() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &vec![b'x'; 5000]).await.unwrap();
        write_frame(&mut buf, b"{}").await.unwrap();
        let mut r = BufReader::new(&buf[..]);
        assert!(matches!(
            read_frame(&mut r, 1000).await,
            Frame::TooLarge(5000)
        ));
        assert!(matches!(read_frame(&mut r, 1000).await, Frame::Body(b) if b == b"{}"));
    }

    #[tokio::test]
    async fn a_header_line_without_end_is_not_buffered_forever() {
        let buf = vec![b'C'; 100_000];
        let mut r = BufReader::new(&buf[..]);
        assert!(matches!(read_frame(&mut r, 1000).await, Frame::End));
    }

    #[test]
    fn dollar_requests_get_method_not_found_and_notifications_pass() {
        let req = br#"{"jsonrpc":"2.0","id":4,"method":"$/custom"}"#;
        let a = unanswered_request(req, method_of(req).as_deref()).unwrap();
        assert_eq!(a["error"]["code"], -32601);
        assert_eq!(a["id"], 4);
        let note = br#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#;
        assert!(unanswered_request(note, method_of(note).as_deref()).is_none());
    }
}
