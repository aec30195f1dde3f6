//! The Python half of the explore engine as a child process: started in the
//! project's interpreter (own process group, cwd in a temporary directory),
//! spoken to in JSON lines (docs/explore-protocol.md), killed with its whole
//! group when it overruns a deadline, dies, or is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The harness source, shipped inside the binary.
pub const SOURCE: &str = include_str!("../../../python/testgen_explore.py");
/// The protocol version this side speaks (the harness's `ready` line).
pub const PROTOCOL: u64 = 1;
/// How long an interpreter may take to start and import nothing.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("could not start {python}: {source}")]
    Start {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("did not return within {0} s; the interpreter was killed")]
    Timeout(u64),
    #[error("the interpreter died ({0})")]
    Died(String),
    #[error("the harness answered something that is not its protocol: {0}")]
    Protocol(String),
}

/// A running harness.
pub struct Harness {
    child: Child,
    group: Option<i32>,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    _cwd: tempfile::TempDir,
}

#[derive(Debug, Deserialize)]
struct Ready {
    ready: bool,
    #[serde(default)]
    harness: u64,
}

impl Harness {
    /// Writes the harness to `cache_dir` (when missing or stale) and starts it.
    pub async fn start(
        python: &Path,
        cache_dir: &Path,
        root: &Path,
        sys_path: &[PathBuf],
        seed: u64,
    ) -> Result<Harness, HarnessError> {
        let script = install(cache_dir).map_err(|source| HarnessError::Start {
            python: python.to_path_buf(),
            source,
        })?;
        let start_err = |source| HarnessError::Start {
            python: python.to_path_buf(),
            source,
        };
        let cwd = tempfile::Builder::new()
            .prefix("testgen-explore-")
            .tempdir()
            .map_err(start_err)?;
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg("-u")
            .arg(&script)
            .arg("--root")
            .arg(root)
            .arg("--seed")
            .arg(seed.to_string());
        for p in sys_path {
            cmd.arg("--sys-path").arg(p);
        }
        cmd.current_dir(cwd.path())
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(start_err)?;
        let group = child.id().map(|id| id as i32);
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        if let Some(err) = child.stderr.take() {
            tokio::spawn(log_stderr(err));
        }
        let mut h = Harness {
            child,
            group,
            stdin,
            stdout,
            _cwd: cwd,
        };
        let line = h.read_line(START_TIMEOUT).await?;
        let ready: Ready =
            serde_json::from_str(&line).map_err(|_| HarnessError::Protocol(clip(&line)))?;
        if !ready.ready || ready.harness != PROTOCOL {
            return Err(HarnessError::Protocol(format!(
                "protocol version {} (expected {PROTOCOL})",
                ready.harness
            )));
        }
        Ok(h)
    }

    /// Sends one request and waits for its answer, at most `deadline`. On
    /// any error the harness is unusable: the caller starts a new one.
    pub async fn request(
        &mut self,
        req: &serde_json::Value,
        deadline: Duration,
    ) -> Result<serde_json::Value, HarnessError> {
        let mut line = serde_json::to_string(req).expect("JSON values serialize");
        line.push('\n');
        if self.stdin.write_all(line.as_bytes()).await.is_err() || self.stdin.flush().await.is_err()
        {
            return Err(self.died().await);
        }
        let answer = self.read_line(deadline).await?;
        serde_json::from_str(&answer).map_err(|_| HarnessError::Protocol(clip(&answer)))
    }

    async fn read_line(&mut self, deadline: Duration) -> Result<String, HarnessError> {
        match tokio::time::timeout(deadline, self.stdout.next_line()).await {
            Err(_) => {
                self.kill();
                Err(HarnessError::Timeout(deadline.as_secs()))
            }
            Ok(Ok(Some(line))) => Ok(line),
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
        HarnessError::Died(how)
    }

    /// Asks the harness to exit; kills it if it does not.
    pub async fn shutdown(mut self) {
        let _ = self.stdin.write_all(b"{\"op\": \"shutdown\"}\n").await;
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

/// Writes the embedded harness under `cache_dir` (content-addressed, so
/// two testgen versions never run each other's harness).
fn install(cache_dir: &Path) -> std::io::Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    SOURCE.hash(&mut h);
    let dir = cache_dir.join(format!("harness-{:016x}", h.finish()));
    let path = dir.join("testgen_explore.py");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(SOURCE) {
        std::fs::create_dir_all(&dir)?;
        crate::workspace::artifacts::write_atomic(&path, SOURCE.as_bytes())?;
    }
    Ok(path)
}

/// The harness and the code under test print to stderr: log it, bounded.
async fn log_stderr(err: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(2000).collect();
        tracing::debug!(target: "testgen::explore", "{line}");
    }
}
