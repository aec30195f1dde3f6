//! Applying a fix on the syntax tree: the test function's exact range (its
//! decorators through the last line of its body, from the index's parse)
//! is replaced and nothing else; the result must parse. Text outside the
//! range is copied byte for byte, line endings included.

use crate::index::index_source;
use crate::index::model::{FunctionInfo, RelPath};

/// Where one function lies in a file, 1-based inclusive lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The first decorator's line, else the `def` line.
    pub start: u32,
    pub def_line: u32,
    pub end: u32,
    /// The `def` line's indentation.
    pub indent: String,
}

impl Region {
    /// The region's text, as in the file.
    pub fn text<'a>(&self, file_text: &'a str) -> &'a str {
        let (a, b) = byte_range(file_text, self.start, self.end);
        &file_text[a..b]
    }
}

/// The test function `name` (a method of `class` when given) of `text`.
pub fn find(text: &str, path: &RelPath, class: Option<&str>, name: &str) -> Option<Region> {
    let index = index_source(path, text.as_bytes());
    let f = index
        .functions
        .iter()
        .find(|f| is_the_test(f, class, name))?;
    let def = text.split_inclusive('\n').nth(f.line as usize - 1)?;
    Some(Region {
        start: f.decorator_line.unwrap_or(f.line),
        def_line: f.line,
        end: f.end_line,
        indent: def[..def.len() - def.trim_start().len()].to_string(),
    })
}

fn is_the_test(f: &FunctionInfo, class: Option<&str>, name: &str) -> bool {
    match class {
        Some(c) => {
            f.qualname == format!("{c}.{name}") || f.qualname.ends_with(&format!(".{c}.{name}"))
        }
        None => f.depth == 0 && f.name == name,
    }
}

/// Byte offsets of lines `start..=end` (1-based), line endings included.
fn byte_range(text: &str, start: u32, end: u32) -> (usize, usize) {
    let mut offset = 0;
    let (mut a, mut b) = (text.len(), text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i as u32 + 1;
        if n == start {
            a = offset;
        }
        offset += line.len();
        if n == end {
            b = offset;
            break;
        }
    }
    (a.min(b), b)
}

/// `text` with `region` replaced by `new` (given at the region's own
/// indentation). The replaced lines' ending style and final newline stay.
pub fn splice(text: &str, region: &Region, new: &str) -> String {
    let (a, b) = byte_range(text, region.start, region.end);
    let old = &text[a..b];
    let eol = if old.contains("\r\n") { "\r\n" } else { "\n" };
    let mut body: String = new
        .trim_end_matches(['\n', '\r'])
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect::<Vec<_>>()
        .join(eol);
    if old.ends_with('\n') {
        body.push_str(eol);
    }
    format!("{}{}{}", &text[..a], body, &text[b..])
}

/// The new file parses (no error the old one did not have) and still holds
/// the test; Err says why not.
pub fn check(
    old: &str,
    new: &str,
    path: &RelPath,
    class: Option<&str>,
    name: &str,
) -> Result<(), String> {
    let before = index_source(path, old.as_bytes()).parse_errors.len();
    let after = index_source(path, new.as_bytes());
    if after.parse_errors.len() > before {
        let e = &after.parse_errors[0];
        return Err(format!(
            "the fixed test does not parse: line {}: {}",
            e.line, e.message
        ));
    }
    if !name.is_empty() && !after.functions.iter().any(|f| is_the_test(f, class, name)) {
        return Err(format!("the fixed code no longer defines {name}"));
    }
    Ok(())
}

/// A model's answer as the region's new text: without Markdown fences,
/// re-indented to the region, with the original decorators when the
/// answer has none (and none twice).
pub fn from_model(answer: &str, region: &Region, original: &str) -> Result<String, String> {
    let code = strip_fences(answer);
    let lines: Vec<&str> = code.lines().collect();
    let first = lines
        .iter()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with("def ") || t.starts_with("async def ") || t.starts_with('@')
        })
        .ok_or("the answer holds no function definition")?;
    let lines = &lines[first..];
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::new();
    let has_decorators = lines[0].trim_start().starts_with('@');
    if !has_decorators {
        for l in original
            .lines()
            .take_while(|l| l.trim_start().starts_with('@'))
        {
            out.push(l.to_string());
        }
    }
    let mut seen_decorators = std::collections::BTreeSet::new();
    for l in lines {
        let t = if l.len() >= common {
            &l[common..]
        } else {
            l.trim_start()
        };
        if t.starts_with('@') && !seen_decorators.insert(t.trim().to_string()) {
            continue;
        }
        if t.trim().is_empty() {
            out.push(String::new());
        } else {
            out.push(format!("{}{t}", region.indent));
        }
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    Ok(out.join("\n"))
}

fn strip_fences(s: &str) -> String {
    let t = s.trim();
    match t.find("```") {
        Some(open) => {
            let after = &t[open + 3..];
            let body = after.split_once('\n').map_or("", |(_, b)| b);
            body.split("```").next().unwrap_or(body).to_string()
        }
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "import pytest\r\n\r\n\r\n@pytest.mark.slow\r\ndef test_a(x):\r\n    assert x == 1\r\n\r\n\r\nclass TestB:\r\n    def test_c(self):\r\n        assert 2 == 3\r\n# tail\r\n";

    #[test]
    fn finds_and_replaces_exactly_the_function() {
        let p = RelPath::new("tests/test_a.py");
        let r = find(FILE, &p, None, "test_a").unwrap();
        assert_eq!((r.start, r.def_line, r.end), (4, 5, 6));
        assert_eq!(
            r.text(FILE),
            "@pytest.mark.slow\r\ndef test_a(x):\r\n    assert x == 1\r\n"
        );
        let new = splice(
            FILE,
            &r,
            "@pytest.mark.slow\ndef test_a(x):\n    assert x == 2\n",
        );
        assert_eq!(new, FILE.replace("x == 1", "x == 2"));
        check(FILE, &new, &p, None, "test_a").unwrap();

        let m = find(FILE, &p, Some("TestB"), "test_c").unwrap();
        assert_eq!(m.indent, "    ");
        let fixed = from_model(
            "```python\ndef test_c(self):\n    assert 2 == 2\n```",
            &m,
            m.text(FILE),
        )
        .unwrap();
        assert_eq!(fixed, "    def test_c(self):\n        assert 2 == 2");
        let new = splice(FILE, &m, &fixed);
        assert_eq!(new, FILE.replace("2 == 3", "2 == 2"));
        assert!(check(
            FILE,
            &splice(FILE, &m, "    def test_c(self):\n    assert ("),
            &p,
            Some("TestB"),
            "test_c"
        )
        .is_err());
    }

    #[test]
    fn model_answers_keep_decorators_once() {
        let p = RelPath::new("t.py");
        let r = find(FILE, &p, None, "test_a").unwrap();
        let orig = r.text(FILE);
        let a = from_model("def test_a(x):\n    assert x\n", &r, orig).unwrap();
        assert_eq!(a, "@pytest.mark.slow\ndef test_a(x):\n    assert x");
        let b = from_model(
            "@pytest.mark.slow\n@pytest.mark.slow\ndef test_a(x):\n    pass",
            &r,
            orig,
        )
        .unwrap();
        assert_eq!(b, "@pytest.mark.slow\ndef test_a(x):\n    pass");
        assert!(from_model("no code here", &r, orig).is_err());
    }
}
