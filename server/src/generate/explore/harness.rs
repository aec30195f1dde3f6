//! The Python half of the explore engine as a child process: started in the
//! project's interpreter (own process group, cwd in a temporary directory),
//! spoken to in JSON lines (docs/explore-protocol.md) on descriptors far
//! from the ones project code touches (`package::ProtocolFds`), killed with
//! its whole group when it overruns a deadline, dies, or is dropped. A
//! harness that is lost says which call it was making and what it printed
//! last.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::package::{self, Launch};
use super::protocol::{Answer, Ready, Request, PROTOCOL};
use crate::sandbox;

/// A protocol line longer than this is not the harness speaking.
const MAX_ANSWER: usize = 64 * 1024 * 1024;
/// Lines of the harness's stderr (the project's prints) are cut here: a
/// gigabyte printed without a newline must not grow testgen's memory.
const MAX_LOG_LINE: usize = 2000;

/// What confines a harness besides its in-process guard.
pub type Confinement = sandbox::Settings;

/// How long an interpreter may take to start and import nothing.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of stderr a lost harness's reason quotes.
const LAST_WORDS: usize = 4;
/// The note of the current call is one record of at most this many bytes.
const NOTE_BYTES: usize = 512;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("could not start {python}: {source}")]
    Start {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("did not return within {0} s; the interpreter was killed{1}")]
    Timeout(u64, Whereabouts),
    #[error("the interpreter died ({0}){1}")]
    Died(String, Whereabouts),
    #[error("the harness answered something that is not its protocol: {0}{1}")]
    Protocol(String, Whereabouts),
    #[error("the harness speaks protocol version {got}, this testgen version {PROTOCOL}")]
    Version { got: u64 },
}

/// Where a lost harness was: the call it noted last and its last lines on
/// stderr (empty when neither is known).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Whereabouts {
    pub call: Option<String>,
    pub stderr: Vec<String>,
}

impl std::fmt::Display for Whereabouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(call) = &self.call {
            write!(f, " while running {call}")?;
        }
        if !self.stderr.is_empty() {
            write!(f, "; its last words on stderr: {}", self.stderr.join(" | "))?;
        }
        Ok(())
    }
}

/// The last lines the harness wrote to stderr.
type Tail = Arc<Mutex<VecDeque<String>>>;

/// A running harness.
pub struct Harness {
    child: Child,
    group: Option<i32>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The harness overwrites it with each call it makes.
    note: std::fs::File,
    tail: Tail,
    stderr_done: Option<tokio::task::JoinHandle<()>>,
    _cwd: tempfile::TempDir,
}

impl Harness {
    /// Writes the harness package to `cache_dir` (when missing or stale) and
    /// starts it.
    pub async fn start(
        python: &Path,
        cache_dir: &Path,
        root: &Path,
        sys_path: &[PathBuf],
        seed: u64,
        confine: &Confinement,
    ) -> Result<Harness, HarnessError> {
        let start_err = |source| HarnessError::Start {
            python: python.to_path_buf(),
            source,
        };
        let cwd = tempfile::Builder::new()
            .prefix("testgen-explore-")
            .tempdir()
            .map_err(start_err)?;
        let installed = package::install(cache_dir).map_err(start_err)?;
        let note = tempfile::tempfile().map_err(start_err)?;
        let launch = Launch {
            python,
            installed: &installed,
            root,
            sys_path,
            seed,
            allow_unsafe: confine.allow_process,
            cwd: cwd.path(),
            note: Some(&note),
        };
        let mut std_cmd = launch.command();
        // Its temporary directory is the only place it may write: the
        // package in the cache is written (and repaired) before each start.
        sandbox::apply(&mut std_cmd, &confine.policy(cwd.path())).map_err(start_err)?;
        crate::runner::reaper::adopt(&mut std_cmd);
        let mut cmd = tokio::process::Command::from(std_cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(start_err)?;
        if let Some(pid) = child.id() {
            crate::runner::reaper::register(pid);
        }
        let group = child.id().map(|id| id as i32);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let tail = Tail::default();
        let stderr_done = child
            .stderr
            .take()
            .map(|err| tokio::spawn(log_stderr(err, tail.clone())));
        let mut h = Harness {
            child,
            group,
            stdin,
            stdout,
            note,
            tail,
            stderr_done,
            _cwd: cwd,
        };
        let line = h.read_line(START_TIMEOUT).await?;
        let ready: Ready = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(_) => return Err(h.not_protocol(clip(&line)).await),
        };
        if !ready.ready {
            return Err(h.not_protocol(clip(&line)).await);
        }
        if ready.harness != PROTOCOL {
            return Err(HarnessError::Version { got: ready.harness });
        }
        tracing::debug!(python = %ready.python, "harness ready");
        Ok(h)
    }

    /// Sends one request and waits for its answer, at most `deadline`; the
    /// answer must parse as `A` and carry the request's id. On any error the
    /// harness is unusable: the caller starts a new one.
    pub async fn request<A: Answer + DeserializeOwned>(
        &mut self,
        req: &Request,
        deadline: Duration,
    ) -> Result<A, HarnessError> {
        self.send(req).await?;
        let line = self.read_line(deadline).await?;
        let answer: A = match serde_json::from_str(&line) {
            Ok(a) => a,
            Err(_) => return Err(self.not_protocol(clip(&line)).await),
        };
        if answer.id() != req.id() {
            let what = format!(
                "an answer to request {} where {} was asked",
                answer.id().map_or("null".into(), |i| i.to_string()),
                req.id().map_or("null".into(), |i| i.to_string()),
            );
            return Err(self.not_protocol(what).await);
        }
        Ok(answer)
    }

    /// The harness said something else than its protocol: it cannot be
    /// trusted with another request.
    async fn not_protocol(&mut self, what: String) -> HarnessError {
        self.kill();
        HarnessError::Protocol(what, self.whereabouts().await)
    }

    /// The call the harness noted last and its last stderr lines (read to
    /// the end, briefly: the process group is gone or going).
    pub async fn whereabouts(&mut self) -> Whereabouts {
        if let Some(task) = self.stderr_done.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        let stderr = self
            .tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        Whereabouts {
            call: read_note(&self.note),
            stderr,
        }
    }

    async fn send(&mut self, req: &Request) -> Result<(), HarnessError> {
        let mut line = serde_json::to_string(req).expect("requests serialize");
        line.push('\n');
        if self.stdin.write_all(line.as_bytes()).await.is_err() || self.stdin.flush().await.is_err()
        {
            return Err(self.died().await);
        }
        Ok(())
    }

    async fn read_line(&mut self, deadline: Duration) -> Result<String, HarnessError> {
        match tokio::time::timeout(deadline, read_line(&mut self.stdout, MAX_ANSWER)).await {
            Err(_) => {
                self.kill();
                Err(HarnessError::Timeout(
                    deadline.as_secs(),
                    self.whereabouts().await,
                ))
            }
            Ok(Ok(Some((line, false)))) => Ok(String::from_utf8_lossy(&line).into_owned()),
            Ok(Ok(Some((_, true)))) => Err(self
                .not_protocol(format!("an answer longer than {} MiB", MAX_ANSWER >> 20))
                .await),
            Ok(Ok(None)) | Ok(Err(_)) => Err(self.died().await),
        }
    }

    /// How the process ended, once its stdout closed.
    async fn died(&mut self) -> HarnessError {
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        self.kill();
        use std::os::unix::process::ExitStatusExt;
        let how = match status {
            Ok(Ok(s)) => match (s.code(), s.signal()) {
                (_, Some(sig)) => format!("killed by signal {sig}{}", signal_name(sig)),
                (Some(code), None) => format!("exit code {code}"),
                _ => "unknown status".into(),
            },
            _ => "closed its output".into(),
        };
        HarnessError::Died(how, self.whereabouts().await)
    }

    /// Asks the harness to exit; kills it if it does not.
    pub async fn shutdown(mut self) {
        let mut line = serde_json::to_string(&Request::Shutdown).expect("requests serialize");
        line.push('\n');
        let _ = self.stdin.write_all(line.as_bytes()).await;
        let _ = self.stdin.flush().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        self.kill();
    }

    fn kill(&self) {
        if let Some(pid) = self.group {
            use nix::sys::signal::{killpg, Signal};
            let _ = killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.kill();
        if let Some(pid) = self.group {
            crate::runner::reaper::release(pid as u32);
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        11 => " (SIGSEGV: a crash in C code)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        _ => "",
    }
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// The call the harness noted last: one record at the file's start, up to
/// its newline (the harness pads it, so a shorter note never shows the end
/// of a longer one).
fn read_note(file: &std::fs::File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; NOTE_BYTES];
    let n = file.read_at(&mut buf, 0).ok()?;
    let record = &buf[..n];
    let end = record.iter().position(|&b| b == b'\n').unwrap_or(n);
    let text = String::from_utf8_lossy(&record[..end]).trim().to_string();
    (!text.is_empty()).then(|| clip(&text))
}

/// The harness and the code under test print to stderr (and to stdout,
/// which the harness joins to it): log it, bounded, as bytes (any
/// encoding), keeping the last lines for the reason of a lost harness.
/// Read to the end whatever comes: a reader that stopped would leave the
/// harness's prints failing with a broken pipe.
async fn log_stderr(err: tokio::process::ChildStderr, tail: Tail) {
    let mut r = BufReader::new(err);
    while let Ok(Some((line, cut))) = read_line(&mut r, MAX_LOG_LINE).await {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        let more = if cut { " [...]" } else { "" };
        tracing::debug!(target: "testgen::explore", "{text}{more}");
        if text.trim().is_empty() {
            continue;
        }
        if let Ok(mut t) = tail.lock() {
            if t.len() == LAST_WORDS {
                t.pop_front();
            }
            t.push_back(clip(text.trim()));
        }
    }
}

/// The next line of `r` without its newline, at most `max` bytes of it
/// kept (true: the rest was cut and skipped); None at the end.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut line = Vec::new();
    let mut cut = false;
    let mut any = false;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(any.then_some((line, cut)));
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = max.saturating_sub(line.len());
        cut |= chunk.len() > room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buf.len());
        r.consume(used);
        if done.is_some() {
            return Ok(Some((line, cut)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bytes_bounded_and_survive_bad_utf8() {
        let mut data = b"ok\n\xff\xfe bad\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend(b"\nlast");
        let mut r = BufReader::with_capacity(1024, &data[..]);
        assert_eq!(
            read_line(&mut r, 10).await.unwrap(),
            Some((b"ok".to_vec(), false))
        );
        let (bad, _) = read_line(&mut r, 10).await.unwrap().unwrap();
        assert_eq!(String::from_utf8_lossy(&bad), "\u{fffd}\u{fffd} bad");
        let (long, cut) = read_line(&mut r, 10).await.unwrap().unwrap();
        assert!(cut && long.len() == 10);
        assert_eq!(
            read_line(&mut r, 10).await.unwrap(),
            Some((b"last".to_vec(), false))
        );
        assert_eq!(read_line(&mut r, 10).await.unwrap(), None);
    }
}
