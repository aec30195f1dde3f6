//! The prompt templates (`prompts/` in the repository, embedded in the
//! binary), overridable per project by a file of the same name under
//! `.testgen/prompts/`. minijinja: Jinja's syntax (what prompt authors
//! know), includes for the shared rule blocks, no dependencies, and
//! templates loaded from strings, so embedded and overriding files are the
//! same thing.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

/// Where a project's own templates live, relative to its root.
pub const OVERRIDE_DIR: &str = ".testgen/prompts";

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../../prompts/", $name)))),*]
    };
}

/// Every template testgen ships.
pub const TEMPLATES: &[(&str, &str)] = embedded!(
    "rules/observable.j2",
    "rules/never.j2",
    "rules/branches.j2",
    "rules/format.j2",
    "system_python_unit.j2",
    "system_python_integration.j2",
    "system_flask_unit.j2",
    "system_flask_integration.j2",
    "system_fastapi_unit.j2",
    "system_fastapi_integration.j2",
    "system_django_unit.j2",
    "system_django_integration.j2",
    "user.j2",
    "repair.j2",
    // The fixer's (fix/llm.rs).
    "fix_system.j2",
    "fix_context.j2",
    "fix_classify.j2",
    "fix_repair.j2",
    "fix_retry.j2",
);

/// The templates of one project: its overrides over the embedded ones.
pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// Loads the overrides under `root/.testgen/prompts/`; one that does
    /// not parse is an error naming its file.
    pub fn load(root: &Path) -> Result<Prompts, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        env.set_trim_blocks(true);
        // An included rule block keeps its last line break: blocks are lines.
        env.set_keep_trailing_newline(true);
        env.add_filter("ranges", ranges);
        for (name, text) in TEMPLATES {
            let file = root.join(OVERRIDE_DIR).join(name);
            let source = match std::fs::read_to_string(&file) {
                Ok(own) => Some((own, file)),
                Err(_) => None,
            };
            let (text, from): (String, PathBuf) = match source {
                Some((own, file)) => (own, file),
                None => (text.to_string(), PathBuf::from(format!("prompts/{name}"))),
            };
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| format!("prompt template {}: {e}", from.display()))?;
        }
        Ok(Prompts { env })
    }

    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, String> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| format!("prompt template {name}: {e}"))?;
        let out = t
            .render(ctx)
            .map_err(|e| format!("prompt template {name}: {e}"))?;
        Ok(tidy(&out))
    }
}

/// Line numbers as ranges (`3-7, 9`): the same list in fewer tokens.
fn ranges(lines: Vec<u32>) -> String {
    let mut sorted = lines;
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        out.push(if sorted[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", sorted[i])
        });
        i += 1;
    }
    out.join(", ")
}

/// At most one blank line in a row: what conditional blocks leave behind.
fn tidy(s: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in s.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_prompt_renders_the_rules_of_its_framework_and_kind() {
        let p = Prompts::load(Path::new("/nonexistent")).unwrap();
        for fw in ["python", "flask", "fastapi", "django"] {
            for kind in ["unit", "integration"] {
                let s = p
                    .render(
                        &format!("system_{fw}_{kind}.j2"),
                        minijinja::context! { module => "pkg.mod", name => "f", framework => fw, kind => kind, fixtures => ["client"] },
                    )
                    .unwrap();
                let has = |t: &str| s.contains(t);
                // Observable, branch-aware and exception, never-do, format.
                for rule in [
                    "pytest.raises(ExactType)",
                    "private attributes",
                    "`# MISSING`",
                    "ZeroDivisionError",
                    "Never mock",
                    "django_db` outside Django",
                    "get_info",
                    "```python",
                    "never redefine them",
                    "client",
                    fw,
                ] {
                    assert!(has(rule), "{fw} {kind} lacks {rule:?}:\n{s}");
                }
                // Only the blocks of its framework and kind.
                assert_eq!(has("Flask(...)"), fw != "python", "{fw} {kind}:\n{s}");
                assert_eq!(
                    has("HTTP status"),
                    fw != "python" || kind == "integration",
                    "{fw} {kind}"
                );
                assert_eq!(
                    has("422"),
                    fw == "fastapi" && kind == "integration",
                    "{fw} {kind}"
                );
                // Rule blocks are lines of their own.
                assert!(!s.contains(".- "), "{fw} {kind}:\n{s}");
            }
        }
        let plain = p
            .render("system_python_unit.j2", minijinja::context! { module => "m", name => "f", framework => "python", kind => "unit" })
            .unwrap();
        assert!(
            !plain.contains("conftest"),
            "no fixtures, no fixture rule: {plain}"
        );
        assert!(
            super::super::context::tokens(&plain) < 280,
            "{}",
            super::super::context::tokens(&plain)
        );
    }

    #[test]
    fn line_numbers_become_ranges() {
        assert_eq!(ranges(vec![9, 3, 4, 5, 7, 8, 12]), "3-5, 7-9, 12");
        assert_eq!(ranges(vec![]), "");
    }

    #[test]
    fn a_project_override_wins() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join(OVERRIDE_DIR);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("user.j2"), "Only {{ qualname }}").unwrap();
        let p = Prompts::load(dir.path()).unwrap();
        assert_eq!(
            p.render("user.j2", minijinja::context! { qualname => "f" })
                .unwrap(),
            "Only f"
        );
        std::fs::write(d.join("user.j2"), "{% if %}").unwrap();
        let e = Prompts::load(dir.path()).err().unwrap();
        assert!(e.contains(".testgen/prompts/user.j2"), "{e}");
    }
}
