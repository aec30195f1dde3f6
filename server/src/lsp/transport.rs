//! Stdio framing in front of tower-lsp-server. tower-lsp-server answers an
//! undecodable message with a parse error, but the `FramedRead` under it
//! stops for good after any decode error (tokio-rs/tokio#3976), so one
//! malformed message from a client would end the session. This pump reads
//! frames itself, passes on only well-formed JSON-RPC messages, and answers
//! the others (-32700 parse error, -32600 invalid request) itself, merging
//! its answers frame by frame into the server's output. A malformed header
//! stays fatal: after it nobody knows where the next frame starts.

use serde_json::{json, Value};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;

/// A frame body larger than this is refused (and the session ends): no
/// client sends 256 MiB documents, and buffering them would exhaust memory.
const MAX_BODY: usize = 256 << 20;

pub enum Frame {
    Body(Vec<u8>),
    /// The stream ended (cleanly or on a broken header).
    End,
}

/// Reads one `Content-Length` frame.
pub async fn read_frame<R: AsyncBufRead + Unpin>(r: &mut R) -> Frame {
    let mut len: Option<usize> = None;
    loop {
        let mut line = String::new();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return Frame::End,
            Ok(_) => {}
        }
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
                Ok(n) if n <= MAX_BODY => len = Some(n),
                _ => {
                    tracing::error!("bad Content-Length {value:?}: closing the session");
                    return Frame::End;
                }
            }
        }
    }
    let mut body = vec![0; len.unwrap_or(0)];
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
pub async fn pump_input<R, W>(
    input: R,
    mut to_server: W,
    errors: mpsc::UnboundedSender<Vec<u8>>,
    ended: tokio::sync::oneshot::Sender<()>,
) where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut r = BufReader::new(input);
    while let Frame::Body(body) = read_frame(&mut r).await {
        match reject(&body) {
            None => {
                if write_frame(&mut to_server, &body).await.is_err() {
                    break;
                }
                if is_exit(&body) {
                    break;
                }
            }
            Some(answer) => {
                tracing::warn!("rejected a client message: {}", answer["error"]["message"]);
                let _ = errors.send(answer.to_string().into_bytes());
            }
        }
    }
    let _ = ended.send(());
    // Closing the server's input ends the session as a closed stdin would.
    let _ = to_server.shutdown().await;
}

fn is_exit(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get("method").and_then(Value::as_str) == Some("exit"))
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
            frame = read_frame(&mut r) => match frame {
                Frame::Body(b) => {
                    if write_frame(&mut output, &b).await.is_err() {
                        break;
                    }
                }
                Frame::End => break,
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
        assert!(matches!(read_frame(&mut r).await, Frame::Body(b) if b == b"{\"a\":1}"));
        assert!(matches!(read_frame(&mut r).await, Frame::Body(b) if b == b"{}"));
        assert!(matches!(read_frame(&mut r).await, Frame::End));
    }
}
