//! The kernel's side of the sandbox, seen from a real child: Python run
//! under a policy tries what hostile project code does. On a kernel
//! without Landlock or seccomp these tests check that testgen knows it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::runner::process::{self, Exit};

/// The real interpreter behind `python3` (which may be a shell shim, and a
/// shim cannot fork in the sandbox).
fn python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn run_py(policy: Policy, script: &str) -> process::Finished {
    let spec = process::Spec::new(python(), &policy.tmp, Duration::from_secs(60))
        .args(["-c", script])
        .sandbox(policy);
    process::run(&spec, &CancellationToken::new())
        .await
        .unwrap()
}

fn line<'a>(f: &'a process::Finished, key: &str) -> &'a str {
    f.tail
        .iter()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {:?}", f.tail))
}

const PROBE: &str = r#"
import os, sys, socket, errno
victim = sys.argv[1] if len(sys.argv) > 1 else os.environ["VICTIM"]
def attempt(name, fn):
    try:
        fn()
        print(name + "=allowed")
    except OSError as e:
        print(name + "=refused:" + errno.errorcode.get(e.errno, str(e.errno)))
attempt("write_outside", lambda: open(victim, "w").write("x"))
attempt("append_outside", lambda: open(victim, "a").write("x"))
attempt("unlink_outside", lambda: os.unlink(victim))
attempt("write_tmp", lambda: open(os.path.join(os.environ["TMPDIR"], "ok"), "w").write("x"))
attempt("fork", lambda: os.waitpid(os.fork(), 0) if True else None)
attempt("posix_spawn", lambda: os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0))
import threading
t = threading.Thread(target=lambda: None); t.start(); t.join()
print("thread=ok")
attempt("raw_socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1))
attempt("packet_socket", lambda: socket.socket(17, socket.SOCK_RAW, 0))
print("ifaces=" + ",".join(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])))
print("secret=" + os.environ.get("TESTGEN_TEST_SECRET_TOKEN", "<absent>"))
try:
    bytearray(8 * 1024 ** 3)
    print("alloc=allowed")
except MemoryError:
    print("alloc=MemoryError")
"#;

#[tokio::test]
async fn hostile_python_is_confined_by_the_kernel() {
    let s = support();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // SAFETY (test): set once before any child; read by secret_names().
    unsafe { std::env::set_var("TESTGEN_TEST_SECRET_TOKEN", "s3cr3t-value-of-test") };
    let mut policy = Policy::new(tmp.path(), Limits::default());
    policy.limits.memory_mb = 1024;
    let script = PROBE.replace(
        "sys.argv[1] if len(sys.argv) > 1 else os.environ[\"VICTIM\"]",
        &format!("{:?}", victim.to_str().unwrap()),
    );
    let f = run_py(policy, &script).await;
    assert_eq!(f.exit, Exit::Code(0), "{:?}", f.tail);
    assert_eq!(
        line(&f, "secret="),
        "<absent>",
        "credentials reach the child"
    );
    assert_eq!(line(&f, "thread="), "ok");
    assert_eq!(line(&f, "write_tmp="), "allowed");
    assert_eq!(line(&f, "alloc="), "MemoryError");
    if !s.os_sandbox() {
        // Only the in-process guard protects: the kernel did nothing here.
        assert!(s.describe().contains("not available"), "{}", s.describe());
        return;
    }
    for what in ["write_outside", "append_outside", "unlink_outside"] {
        assert!(
            line(&f, &format!("{what}=")).starts_with("refused"),
            "{what}: {:?}",
            f.tail
        );
    }
    for what in ["fork", "posix_spawn", "raw_socket", "packet_socket"] {
        assert!(
            line(&f, &format!("{what}=")).starts_with("refused"),
            "{what}: {:?}",
            f.tail
        );
    }
    if s.netns {
        assert_eq!(line(&f, "ifaces="), "lo", "the child sees other interfaces");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[tokio::test]
async fn loopback_outside_the_sandbox_is_out_of_reach_and_inside_works() {
    if !support().netns || !support().os_sandbox() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=5)
    print("outer=reached")
except OSError as e:
    print("outer=refused")
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname(), timeout=5)
print("inner=ok")
"#
    );
    let f = run_py(Policy::new(tmp.path(), Limits::default()), &script).await;
    assert_eq!(line(&f, "outer="), "refused", "{:?}", f.tail);
    assert_eq!(line(&f, "inner="), "ok", "{:?}", f.tail);
}

#[test]
fn this_machine_reports_what_it_has() {
    let s = support();
    eprintln!("sandbox support: {}", s.describe());
    if std::env::var("TESTGEN_EXPECT_OS_SANDBOX").is_ok_and(|v| v == "1") {
        assert!(s.os_sandbox(), "{}", s.describe());
    }
}
