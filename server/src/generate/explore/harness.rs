//! The Python half of the explore engine as a child process: started in the
//! project's interpreter (own process group, cwd in a temporary directory),
//! spoken to in JSON lines (docs/explore-protocol.md), killed with its whole
//! group when it overruns a deadline, dies, or is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::package::{self, Launch};
use super::protocol::{Answer, Ready, Request, PROTOCOL};

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
    #[error("the harness speaks protocol version {got}, this testgen version {PROTOCOL}")]
    Version { got: u64 },
}

/// A running harness.
pub struct Harness {
    child: Child,
    group: Option<i32>,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
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
        let launch = Launch {
            python,
            installed: &installed,
            root,
            sys_path,
            seed,
            cwd: cwd.path(),
        };
        let mut cmd = tokio::process::Command::from(launch.command());
        cmd.stdin(Stdio::piped())
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
        if !ready.ready {
            return Err(HarnessError::Protocol(clip(&line)));
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
        let answer: A =
            serde_json::from_str(&line).map_err(|_| HarnessError::Protocol(clip(&line)))?;
        if answer.id() != req.id() {
            return Err(HarnessError::Protocol(format!(
                "an answer to request {} where {} was asked",
                answer.id().map_or("null".into(), |i| i.to_string()),
                req.id().map_or("null".into(), |i| i.to_string()),
            )));
        }
        Ok(answer)
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

/// The harness and the code under test print to stderr: log it, bounded.
async fn log_stderr(err: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(2000).collect();
        tracing::debug!(target: "testgen::explore", "{line}");
    }
}
