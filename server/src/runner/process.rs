//! Child processes that can be trusted to end: each one runs in its own
//! process group, has a timeout, can be cancelled, and on any of those the
//! whole group is killed (pytest's own children included). Output is streamed
//! line by line to the log; only a bounded tail is kept for error messages.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

/// Lines of output kept for error messages; the rest only goes to the log.
const TAIL_LINES: usize = 200;
/// A line longer than this is cut: a child printing without newlines must not
/// grow our memory.
const MAX_LINE: usize = 16 * 1024;

/// Called with each line the child prints (both streams), e.g. to turn
/// pytest's `[ 45%]` into progress.
#[derive(Clone)]
pub struct LineObserver(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for LineObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineObserver")
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    pub timeout: Duration,
    pub on_line: Option<LineObserver>,
    /// Run confined (explored code, generated candidates); None: as the
    /// user runs it (the project's own suite).
    pub sandbox: Option<crate::sandbox::Policy>,
}

impl Spec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>, timeout: Duration) -> Spec {
        Spec {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: Vec::new(),
            timeout,
            on_line: None,
            sandbox: None,
        }
    }

    pub fn on_line(mut self, o: Option<LineObserver>) -> Spec {
        self.on_line = o;
        self
    }

    /// Runs the child in the OS sandbox of `policy` (src/sandbox/).
    pub fn sandbox(mut self, policy: crate::sandbox::Policy) -> Spec {
        self.sandbox = Some(policy);
        self
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Spec {
        self.args.push(a.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, it: I) -> Spec {
        self.args.extend(it.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Spec {
        self.env.push((k.into(), v.into()));
        self
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by a signal it did not ask for (e.g. a segfault).
    Signal(i32),
    TimedOut,
    Cancelled,
}

impl Exit {
    /// How the child ended, in words.
    pub fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exit code {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::TimedOut => "timed out and was killed".into(),
            Exit::Cancelled => "cancelled".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    /// The last lines of stdout and stderr, interleaved as they came.
    pub tail: Vec<String>,
    pub duration: Duration,
}

impl Finished {
    pub fn tail_text(&self) -> String {
        self.tail.join("\n")
    }
}

/// Runs `spec` to its end, its timeout, or `cancel`, whichever comes first.
/// An error means the program could not be started at all.
pub async fn run(spec: &Spec, cancel: &CancellationToken) -> std::io::Result<Finished> {
    let start = Instant::now();
    let mut cmd = tokio::process::Command::new(&spec.program);
    if let Some(policy) = &spec.sandbox {
        crate::sandbox::apply(cmd.as_std_mut(), policy)?;
    }
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so that killing the group reaches every descendant
        // and a Ctrl-C meant for testgen is handled by testgen alone.
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    super::reaper::adopt(cmd.as_std_mut());
    let mut child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        super::reaper::register(pid);
    }
    let group = GroupGuard(child.id().map(|id| id as i32));
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let out = child
        .stdout
        .take()
        .map(|r| pump(r, "stdout", tail.clone(), spec.on_line.clone()));
    let err = child
        .stderr
        .take()
        .map(|r| pump(r, "stderr", tail.clone(), spec.on_line.clone()));

    let exit = tokio::select! {
        status = child.wait() => {
            let status = status?;
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(c), _) => Exit::Code(c),
                (None, Some(s)) => Exit::Signal(s),
                (None, None) => Exit::Code(-1),
            }
        }
        _ = tokio::time::sleep(spec.timeout) => Exit::TimedOut,
        _ = cancel.cancelled() => Exit::Cancelled,
    };
    // Also after a normal exit: a test may have left a background process
    // holding our pipes open; nothing of the group may outlive the run.
    group.kill();
    let _ = child.wait().await;
    for task in [out, err].into_iter().flatten() {
        // The pipes close once the group is gone; the bound is a safety net.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if matches!(exit, Exit::TimedOut | Exit::Cancelled) {
        tracing::warn!(program = %spec.program.display(), ?exit, "process group killed");
    }
    let tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Finished {
        exit,
        tail,
        duration: start.elapsed(),
    })
}

/// Kills the child's whole process group when dropped (also when the future
/// running the child is dropped half-way, e.g. by a cancelled LSP request).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&self) {
        if let Some(pid) = self.0 {
            use nix::sys::signal::{killpg, Signal};
            // ESRCH (already gone) is the normal case after a clean exit.
            let _ = killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
        if let Some(pid) = self.0 {
            super::reaper::release(pid as u32);
        }
    }
}

/// Reads `r` to its end, logging each line and keeping the last ones.
fn pump<R: AsyncRead + Unpin + Send + 'static>(
    mut r: R,
    stream: &'static str,
    tail: Arc<Mutex<VecDeque<String>>>,
    on_line: Option<LineObserver>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        let mut line: Vec<u8> = Vec::new();
        let emit = |line: &mut Vec<u8>| {
            let text = String::from_utf8_lossy(line)
                .trim_end_matches('\r')
                .to_string();
            line.clear();
            tracing::debug!(target: "testgen::child", stream, "{text}");
            if let Some(o) = &on_line {
                (o.0)(&text);
            }
            if let Ok(mut t) = tail.lock() {
                if t.len() == TAIL_LINES {
                    t.pop_front();
                }
                t.push_back(text);
            }
        };
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if b == b'\n' {
                    emit(&mut line);
                } else if line.len() < MAX_LINE {
                    line.push(b);
                }
            }
        }
        if !line.is_empty() {
            emit(&mut line);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Spec {
        Spec::new("/bin/sh", std::env::temp_dir(), timeout).args(["-c", script])
    }

    #[tokio::test]
    async fn exit_code_and_output_tail() {
        let f = run(
            &sh("echo one; echo two >&2; exit 3", Duration::from_secs(10)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(f.exit, Exit::Code(3));
        assert!(f.tail.contains(&"one".to_string()), "{:?}", f.tail);
        assert!(f.tail.contains(&"two".to_string()), "{:?}", f.tail);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // A grandchild that would outlive a plain kill of the direct child.
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let f = run(
            &sh(&script, Duration::from_millis(500)),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(f.exit, Exit::TimedOut);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            dies_within(pid, Duration::from_secs(10)),
            "grandchild {pid} survived the timeout"
        );
    }

    #[tokio::test]
    async fn cancel_kills_promptly() {
        let token = CancellationToken::new();
        let t2 = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            t2.cancel();
        });
        let f = run(&sh("sleep 300", Duration::from_secs(60)), &token)
            .await
            .unwrap();
        assert_eq!(f.exit, Exit::Cancelled);
        assert!(f.duration < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn huge_lines_are_cut_not_buffered() {
        let f = run(
            &sh(
                "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end",
                Duration::from_secs(30),
            ),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(f.exit, Exit::Code(0));
        assert!(f.tail.iter().all(|l| l.len() <= MAX_LINE));
        assert_eq!(f.tail.last().unwrap(), "end");
    }

    #[tokio::test]
    async fn missing_program_is_an_error() {
        let spec = Spec::new("/nonexistent/python", "/", Duration::from_secs(1));
        assert!(run(&spec, &CancellationToken::new()).await.is_err());
    }

    /// SIGKILL is delivered asynchronously: on a loaded machine the target
    /// may still show as running for a moment after `killpg` returned, so
    /// poll instead of checking once.
    fn dies_within(pid: i32, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn alive(pid: i32) -> bool {
        // Zombies count as dead: read the state from /proc.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => !(s.contains(") Z ") || s.contains(") X ")),
            Err(_) => false,
        }
    }
}
