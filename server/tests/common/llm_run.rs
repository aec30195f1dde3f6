//! Running testgen against the LLM stub, and the check that its API key
//! leaked nowhere. Apart from llm_stub.rs, which the LLM benchmark includes
//! on its own.

use serde_json::Value;

use super::llm_stub::Stub;

/// `testgen SUBCOMMAND PROJECT --python <test venv> --json -vv EXTRA` with
/// the stub as the configured OpenAI provider and `key` as its API key;
/// stdout parsed as the command's JSON report.
pub fn testgen_llm(
    subcommand: &str,
    project: &std::path::Path,
    stub: &Stub,
    key: &str,
    extra: &[&str],
) -> (Value, std::process::Output) {
    let py = super::python();
    let out = std::process::Command::new(super::testgen_bin())
        .arg(subcommand)
        .arg(project)
        .arg("--python")
        .arg(&py)
        .args(["--json", "-vv"])
        .args(extra)
        .env("OPENAI_API_KEY", key)
        .env("TESTGEN_LLM_PROVIDER", "openai")
        .env("TESTGEN_LLM_MODEL", "gpt-4o-mini")
        .env("OPENAI_BASE_URL", stub.url("/v1"))
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("TESTGEN_ENGINE")
        .env_remove("RUST_LOG")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("running testgen");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

/// The key in no output (stdout, stderr at -vv) and no file under `root`
/// (reports, cache, tests); with a stub, in no request body either (only in
/// its Authorization header).
pub fn assert_key_nowhere(
    key: &str,
    root: &std::path::Path,
    outs: &[&std::process::Output],
    stub: Option<&Stub>,
) {
    for o in outs {
        assert!(!String::from_utf8_lossy(&o.stdout).contains(key));
        assert!(!String::from_utf8_lossy(&o.stderr).contains(key));
    }
    let mut stack = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                seen += 1;
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(key),
                    "the key is in {}",
                    p.display()
                );
            }
        }
    }
    assert!(seen > 0);
    for r in stub.map(Stub::recorded).unwrap_or_default() {
        assert!(!r.body.to_string().contains(key));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {key}").as_str())
        );
    }
}
