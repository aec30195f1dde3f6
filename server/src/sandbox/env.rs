//! Credentials stay out of explored code and generated tests. The sandboxed
//! children get an environment without variables that look like secrets,
//! and no test is written that holds a value of testgen's own secrets or a
//! string shaped like a known kind of key (whatever engine proposed it).

use std::ffi::OsString;
use std::sync::OnceLock;

/// Parts of a variable name that mark a credential.
const MARKERS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "SESSION",
];

/// Whether a variable of this name (or with this value) holds a secret.
pub fn is_secret(name: &str, value: &str) -> bool {
    let up = name.to_ascii_uppercase();
    MARKERS.iter().any(|m| up.contains(m)) || url_with_password(value) || shaped_like_key(value)
}

/// `scheme://user:password@host`: a database URL with its password.
fn url_with_password(v: &str) -> bool {
    let Some((_, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    authority
        .split_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// The variables of testgen's environment a sandboxed child must not get
/// (plus `extra`, the configured LLM key's name).
pub fn secret_names(extra: &[String]) -> Vec<OsString> {
    let mut out: Vec<OsString> = std::env::vars_os()
        .filter(|(k, v)| is_secret(&k.to_string_lossy(), &v.to_string_lossy()))
        .map(|(k, _)| k)
        .collect();
    out.extend(extra.iter().map(OsString::from));
    out
}

/// Values of testgen's own environment that no written test may contain:
/// every secret's (6 characters or more), and any other value long and
/// specific enough to identify this machine or account (12 or more, not a
/// path or a list of paths). Name → value.
fn own_values() -> &'static [(String, String)] {
    static VALUES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    VALUES.get_or_init(|| {
        std::env::vars()
            .filter(|(k, v)| {
                let n = v.chars().count();
                if is_secret(k, v) {
                    n >= 6
                } else {
                    n >= 12 && !v.contains('/') && !v.contains(' ')
                }
            })
            .collect()
    })
}

/// Why `text` (a test's source) must not be written, or None. The reason
/// names the variable or the kind of key, never the value.
pub fn leak_in(text: &str) -> Option<String> {
    for (name, value) in own_values() {
        if text.contains(value.as_str()) {
            return Some(format!(
                "contains the value of testgen's environment variable {name}"
            ));
        }
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .find(|w| shaped_like_key(w))
        .map(|w| format!("contains a string shaped like {}", key_kind(w)))
}

/// Prefixes of well-known key formats and the least length of what follows.
const SHAPES: &[(&str, usize, &str)] = &[
    ("sk-", 20, "an OpenAI-style API key (sk-...)"),
    ("ghp_", 30, "a GitHub token (ghp_...)"),
    ("gho_", 30, "a GitHub token (gho_...)"),
    ("ghs_", 30, "a GitHub token (ghs_...)"),
    ("ghu_", 30, "a GitHub token (ghu_...)"),
    ("github_pat_", 30, "a GitHub token (github_pat_...)"),
    ("xoxb-", 20, "a Slack token (xox...)"),
    ("xoxp-", 20, "a Slack token (xox...)"),
    ("AKIA", 16, "an AWS access key id (AKIA...)"),
    ("ASIA", 16, "an AWS access key id (ASIA...)"),
    ("AIza", 30, "a Google API key (AIza...)"),
];

fn shape_of(w: &str) -> Option<&'static str> {
    SHAPES.iter().find_map(|&(prefix, min, kind)| {
        let rest = w.strip_prefix(prefix)?;
        let ok = rest.len() >= min
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && (!prefix.starts_with('A') || rest.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
            // A key has digits; `sk-this-is-an-identifier-like-name` does not.
            && rest.chars().any(|c| c.is_ascii_digit());
        ok.then_some(kind)
    })
}

fn shaped_like_key(w: &str) -> bool {
    shape_of(w).is_some()
}

fn key_kind(w: &str) -> &'static str {
    shape_of(w).unwrap_or("a key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_and_values_are_recognised() {
        for n in [
            "OPENAI_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "SSH_AUTH_SOCK",
        ] {
            assert!(is_secret(n, "x"), "{n}");
        }
        for n in ["PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV"] {
            assert!(!is_secret(n, "/usr/bin"), "{n}");
        }
        assert!(is_secret("DATABASE_URL", "postgres://app:hunter2@db/app"));
        assert!(!is_secret("DATABASE_URL", "sqlite:///db.sqlite3"));
        assert!(is_secret("X", "sk-proj-abcdefghijklmnop1234567890"));
    }

    #[test]
    fn key_shapes_are_found_in_source_and_named_not_shown() {
        let src = "def test_k():\n    assert get_key() == 'sk-proj-abcdefghij0123456789XYZ'\n";
        let why = leak_in(src).unwrap();
        assert!(why.contains("OpenAI"), "{why}");
        assert!(!why.contains("abcdefghij"), "{why}");
        assert!(leak_in("x = 'AKIAIOSFODNN7EXAMPLE'").is_some());
        assert!(leak_in("x = 'ghp_0123456789abcdefghijABCDEFGHIJ012345'").is_some());
        // Ordinary identifiers and words are not keys.
        assert!(leak_in("def test_sk_learn_model_when_task_is_done(): pass").is_none());
        assert!(leak_in("x = 'sk-this-is-just-a-long-identifier-name'").is_none());
    }
}
