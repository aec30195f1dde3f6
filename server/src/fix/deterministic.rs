//! The fixes that need no model because they are certain: each applies
//! only when the failure and the project leave one answer.
//!
//! - `import`: the imported name is defined, at module level, in exactly
//!   one other module of the project → import it from there.
//! - `missing_fixture`: exactly one available fixture is one edit away
//!   from the missing name (a letter added, dropped, changed or two
//!   swapped) → use that fixture.
//! - `validation_status`: a FastAPI application answered 422 where the
//!   test expected 400 → expect 422 on that assertion.
//! - `django_db`: the test touched the database without the marker → add
//!   `@pytest.mark.django_db` (when the module imports pytest).

use crate::index::model::{FileIndex, Framework, RelPath};
use crate::index::Index;

use super::classify::Classification;
use super::failure::Failure;
use super::patch::Region;

/// A fix: the region's new text, and what was done, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    pub description: String,
}

pub struct Facts<'a> {
    pub index: &'a Index,
    /// The Python root, relative to the workspace root ("" when the same).
    pub python_prefix: &'a str,
    pub framework: Framework,
    /// The test module as indexed now.
    pub file: &'a FileIndex,
}

/// The deterministic fix of `f`, when there is a certain one.
pub fn fix(
    f: &Failure,
    c: &Classification,
    region: &Region,
    text: &str,
    facts: &Facts,
) -> Option<Candidate> {
    let old = region.text(text);
    match c.by.as_str() {
        "import" => import(f, region, old, facts),
        "missing_fixture" => fixture(f, old),
        "validation_status" if facts.framework == Framework::Fastapi => status_422(f, old),
        "django_db" => django_db(region, old, facts),
        _ => None,
    }
}

fn quoted_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let at = s.find(prefix)? + prefix.len();
    let rest = &s[at..];
    let end = rest.find('\'')?;
    Some(&rest[..end])
}

fn import(f: &Failure, region: &Region, old: &str, facts: &Facts) -> Option<Candidate> {
    let msg = &f.message;
    let (names, module): (Vec<String>, String) =
        if let Some(name) = quoted_after(msg, "cannot import name '") {
            (
                vec![name.to_string()],
                quoted_after(msg, "' from '")?.to_string(),
            )
        } else {
            let module = quoted_after(msg, "No module named '")?.to_string();
            // Every name imported from that module (or one below it) in the region.
            let names = facts
                .file
                .imports
                .iter()
                .filter(|i| {
                    in_region(i.line, region)
                        && (i.module == module || i.module.starts_with(&format!("{module}.")))
                })
                .flat_map(|i| i.names.iter().cloned())
                .collect();
            (names, module)
        };
    let mut out = old.to_string();
    let mut done = Vec::new();
    for name in names {
        let imp = facts.file.imports.iter().find(|i| {
            in_region(i.line, region)
                && i.level == 0
                && i.names.contains(&name)
                && (i.module == module || i.module.starts_with(&format!("{module}.")))
        })?;
        let target = defining_module(facts, &name, &imp.module)?;
        let offset = (imp.line - region.start) as usize;
        let line = out.lines().nth(offset)?.to_string();
        let fixed = rewrite_from_import(&line, &imp.module, &imp.names, &name, &target)?;
        out = replace_line(&out, offset, &fixed);
        done.push(format!(
            "import {name} from {target} (where it is defined), not {}",
            imp.module
        ));
    }
    (!done.is_empty()).then(|| Candidate {
        text: out,
        description: done.join("; "),
    })
}

fn in_region(line: u32, r: &Region) -> bool {
    (r.start..=r.end).contains(&line)
}

/// The one module (dotted, as the project imports it) that defines `name`
/// at module level, other than `not`.
fn defining_module(facts: &Facts, name: &str, not: &str) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    for (path, fi) in facts.index.snapshot() {
        if crate::workspace::is_test_file(&path) || path.file_name() == "conftest.py" {
            continue;
        }
        let defines = fi.functions.iter().any(|f| f.depth == 0 && f.name == name)
            || fi.classes.iter().any(|c| c.qualname == name);
        if !defines {
            continue;
        }
        if let Some(m) = module_name(&path, facts.python_prefix) {
            if m != not {
                found.push(m);
            }
        }
    }
    found.sort();
    found.dedup();
    (found.len() == 1).then(|| found.remove(0))
}

/// `pkg/mod.py` → `pkg.mod`, `pkg/__init__.py` → `pkg`, below the Python root.
fn module_name(path: &RelPath, prefix: &str) -> Option<String> {
    let p = path.as_str();
    let p = if prefix.is_empty() {
        p
    } else {
        p.strip_prefix(prefix)?.strip_prefix('/')?
    };
    let p = p.strip_suffix(".py")?;
    let p = p.strip_suffix("/__init__").unwrap_or(p);
    let dotted = p.replace('/', ".");
    dotted
        .split('.')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(dotted)
}

/// One-line `from M import a, b as c` with `name` moved to `target`.
fn rewrite_from_import(
    line: &str,
    module: &str,
    names: &[String],
    name: &str,
    target: &str,
) -> Option<String> {
    if line.contains('(') || line.trim_end().ends_with('\\') || line.contains(';') {
        return None;
    }
    let indent = &line[..line.len() - line.trim_start().len()];
    let head = format!("from {module} import ");
    let rest = line.trim().strip_prefix(&head)?;
    let (code, comment) = match rest.split_once('#') {
        Some((c, k)) => (c.trim_end(), format!("  #{k}")),
        None => (rest.trim_end(), String::new()),
    };
    let items: Vec<&str> = code.split(',').map(str::trim).collect();
    let (moved, kept): (Vec<&str>, Vec<&str>) = items
        .iter()
        .partition(|i| i.split_whitespace().next() == Some(name));
    if moved.len() != 1 || items.len() != names.len() {
        return None;
    }
    let new = format!("{indent}from {target} import {}{comment}", moved[0]);
    if kept.is_empty() {
        Some(new)
    } else {
        Some(format!(
            "{indent}from {module} import {}\n{new}",
            kept.join(", ")
        ))
    }
}

fn replace_line(text: &str, offset: usize, new: &str) -> String {
    let mut out = String::with_capacity(text.len() + new.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == offset {
            let eol = &l[l.trim_end_matches(['\n', '\r']).len()..];
            out.push_str(&new.replace('\n', if eol == "\r\n" { "\r\n" } else { "\n" }));
            out.push_str(eol);
        } else {
            out.push_str(l);
        }
    }
    out
}

fn fixture(f: &Failure, old: &str) -> Option<Candidate> {
    let missing = quoted_after(&f.message, "fixture '")?;
    let list = f.traceback.lines().find_map(|l| {
        l.split_once("available fixtures:")
            .map(|(_, r)| r.to_string())
    })?;
    let available: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if available.contains(&missing) {
        return None;
    }
    let close: Vec<&str> = available
        .iter()
        .copied()
        .filter(|a| one_edit(missing, a))
        .collect();
    let [to] = close.as_slice() else {
        return None;
    };
    let text = rename_word(old, missing, to);
    (text != old).then(|| Candidate {
        text,
        description: format!(
            "use the fixture {to} (the test asked for {missing}, which does not exist)"
        ),
    })
}

/// Damerau (optimal string alignment) distance exactly 1.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ra, rb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    match (ra.len(), rb.len()) {
        (1, 0) | (0, 1) | (1, 1) => true,
        (2, 2) => ra[0] == rb[1] && ra[1] == rb[0],
        _ => false,
    }
}

/// Whole-identifier replacement outside string literals and comments.
fn rename_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == b'\\' && i + 1 < bytes.len() {
                    out.push_str(&text[i..i + 2]);
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
            }
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'#' => {
                let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            None if text[i..].starts_with(from)
                && (i == 0 || !is_ident(bytes[i - 1]))
                && bytes.get(i + from.len()).is_none_or(|&n| !is_ident(n)) =>
            {
                out.push_str(to);
                i += from.len();
                continue;
            }
            None => {}
        }
        let ch = text[i..].chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

fn status_422(f: &Failure, old: &str) -> Option<Candidate> {
    let source = f.test_frame().and_then(|fr| fr.source.clone())?;
    let mut changed = 0;
    let text: String = old
        .split_inclusive('\n')
        .map(|l| {
            if l.trim() == source && l.contains("status_code") {
                let fixed = replace_number(l, "400", "422")
                    .replace("HTTP_400_BAD_REQUEST", "HTTP_422_UNPROCESSABLE_ENTITY");
                if fixed != l {
                    changed += 1;
                }
                fixed
            } else {
                l.to_string()
            }
        })
        .collect();
    (changed >= 1).then(|| Candidate {
        text,
        description: "expect 422: FastAPI answers a request that fails validation with 422 Unprocessable Entity".into(),
    })
}

fn replace_number(line: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().last();
        let after = rest[at + from.len()..].chars().next();
        let alone = before.is_none_or(|c| !c.is_alphanumeric() && c != '_')
            && after.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        out.push_str(&rest[..at]);
        out.push_str(if alone { to } else { from });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

fn django_db(region: &Region, old: &str, facts: &Facts) -> Option<Candidate> {
    let imports_pytest = facts
        .file
        .imports
        .iter()
        .any(|i| i.module == "pytest" && i.names.is_empty());
    if !imports_pytest || old.contains("django_db") {
        return None;
    }
    Some(Candidate {
        text: format!("{}@pytest.mark.django_db\n{old}", region.indent),
        description: "mark the test pytest.mark.django_db: it uses the database".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_away() {
        assert!(one_edit("sample_item", "sample_items"));
        assert!(one_edit("sample_itmes", "sample_items"));
        assert!(one_edit("clinet", "client"));
        assert!(one_edit("cliemt", "client"));
        assert!(!one_edit("client", "client"));
        assert!(!one_edit("tmp", "tmp_path"));
    }

    #[test]
    fn renames_identifiers_only() {
        let t = "def test_t(sample_item):\n    # sample_item is used\n    assert f(sample_item, 'sample_item', sample_items) == 1\n";
        assert_eq!(
            rename_word(t, "sample_item", "sample_items"),
            "def test_t(sample_items):\n    # sample_item is used\n    assert f(sample_items, 'sample_item', sample_items) == 1\n"
        );
    }

    #[test]
    fn from_imports_move_one_name() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            rewrite_from_import(
                "    from shop.pricing import slugify",
                "shop.pricing",
                &names(&["slugify"]),
                "slugify",
                "shop.text"
            )
            .unwrap(),
            "    from shop.text import slugify"
        );
        assert_eq!(
            rewrite_from_import(
                "from a import x, slug as s  # why",
                "a",
                &names(&["x", "slug"]),
                "slug",
                "b"
            )
            .unwrap(),
            "from a import x\nfrom b import slug as s  # why"
        );
        assert!(rewrite_from_import("from a import (x,", "a", &names(&["x"]), "x", "b").is_none());
        assert_eq!(
            module_name(&RelPath::new("backend/app/__init__.py"), "backend").as_deref(),
            Some("app")
        );
        assert_eq!(
            module_name(&RelPath::new("shop/text.py"), "").as_deref(),
            Some("shop.text")
        );
        assert_eq!(
            replace_number("assert r.status_code == 400  # 4000", "400", "422"),
            "assert r.status_code == 422  # 4000"
        );
    }
}
