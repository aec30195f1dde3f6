//! coverage.py's Cobertura XML, read in one streaming pass with quick-xml.
//!
//! What coverage.py writes: one `<class>` per file (its `filename` relative to
//! one of the `<source>`s), empty `<methods>`, `<line number hits>` per
//! statement, and for branch lines `branch="true" condition-coverage="50% (1/2)"
//! missing-branches="12,14"`. Function figures are not in the file: `gaps.rs`
//! computes them from the index.

use std::path::{Component, Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::index::model::RelPath;

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: malformed coverage XML: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{}: not a Cobertura coverage report (root element is <{found}>, expected <coverage>)", path.display())]
    NotCobertura { path: PathBuf, found: String },
}

/// Branch outcome of one line: `covered` of `total` exits were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Branches {
    pub covered: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineHit {
    pub line: u32,
    pub hits: u32,
    pub branches: Option<Branches>,
}

impl LineHit {
    pub fn is_covered(&self) -> bool {
        self.hits > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCoverage {
    /// Relative to the workspace root.
    pub path: RelPath,
    /// Statement lines, sorted by line number, no duplicates.
    pub lines: Vec<LineHit>,
}

impl FileCoverage {
    pub fn covered_lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.lines.iter().filter(|l| l.is_covered()).map(|l| l.line)
    }
    pub fn missing_lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.lines
            .iter()
            .filter(|l| !l.is_covered())
            .map(|l| l.line)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageReport {
    /// Files under the workspace root, sorted by path.
    pub files: Vec<FileCoverage>,
    /// Files the report names that lie outside the workspace root (ignored).
    pub outside_root: Vec<String>,
    /// Whether the report carries branch data (`--cov-branch`).
    pub has_branches: bool,
}

/// Reads and parses the report at `path`; filenames are resolved against the
/// report's `<source>`s and `root`, and made relative to `root`.
pub fn read(path: &Path, root: &Path) -> Result<CoverageReport, CoverageError> {
    let _span = tracing::info_span!("read_cobertura", path = %path.display()).entered();
    let bytes = std::fs::read(path).map_err(|source| CoverageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes, root).map_err(|e| e.at(path, &bytes))
}

/// A parse error before the file name and line/column are known.
#[derive(Debug)]
pub struct RawError {
    offset: usize,
    kind: RawErrorKind,
}

#[derive(Debug)]
enum RawErrorKind {
    Malformed(String),
    NotCobertura(String),
}

impl RawError {
    fn malformed(offset: usize, message: impl Into<String>) -> Self {
        RawError {
            offset,
            kind: RawErrorKind::Malformed(message.into()),
        }
    }

    /// Names the file and turns the byte offset into a 1-based line and column.
    pub fn at(self, path: &Path, bytes: &[u8]) -> CoverageError {
        let path = path.to_path_buf();
        match self.kind {
            RawErrorKind::NotCobertura(found) => CoverageError::NotCobertura { path, found },
            RawErrorKind::Malformed(message) => {
                let upto = &bytes[..self.offset.min(bytes.len())];
                let line = upto.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
                let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let column =
                    String::from_utf8_lossy(&upto[line_start..]).chars().count() as u32 + 1;
                CoverageError::Malformed {
                    path,
                    line,
                    column,
                    message,
                }
            }
        }
    }
}

/// Parses a whole report held in memory.
pub fn parse(bytes: &[u8], root: &Path) -> Result<CoverageReport, RawError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    // Whitespace-only text (the indentation between every two elements)
    // yields no event at all: half the events of a report, none of them data.
    reader.config_mut().trim_text_start = true;
    let mut p = Parser::default();
    let mut depth = 0usize;
    let mut saw_root = false;
    loop {
        let pos = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| RawError::malformed(reader.error_position() as usize, e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if depth == 0 && saw_root => {
                let _ = e;
                return Err(RawError::malformed(pos, "content after the root element"));
            }
            Event::Start(e) => {
                check_root(&mut saw_root, depth, &e, pos)?;
                depth += 1;
                p.start(&e, pos)?;
            }
            Event::Empty(e) => {
                check_root(&mut saw_root, depth, &e, pos)?;
                p.start(&e, pos)?;
                p.end(e.local_name().as_ref());
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                p.end(e.local_name().as_ref());
            }
            Event::Text(t) if p.in_source => {
                let text = t
                    .decode()
                    .map_err(|e| RawError::malformed(pos, e.to_string()))?;
                p.source_text.push_str(&text);
            }
            Event::Text(t) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(RawError::malformed(pos, "text outside the root element"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(RawError::malformed(
            bytes.len(),
            "no <coverage> element (empty file?)",
        ));
    }
    if depth != 0 {
        return Err(RawError::malformed(
            bytes.len(),
            "unexpected end of file: the report is truncated",
        ));
    }
    Ok(p.finish(root))
}

fn check_root(
    saw_root: &mut bool,
    depth: usize,
    e: &BytesStart,
    pos: usize,
) -> Result<(), RawError> {
    if depth == 0 {
        let name = e.local_name();
        if name.as_ref() != b"coverage" {
            return Err(RawError {
                offset: pos,
                kind: RawErrorKind::NotCobertura(
                    String::from_utf8_lossy(name.as_ref()).into_owned(),
                ),
            });
        }
        *saw_root = true;
    }
    Ok(())
}

/// A `<class>` as read, before its filename is resolved.
struct RawClass {
    filename: String,
    lines: Vec<LineHit>,
}

#[derive(Default)]
struct Parser {
    sources: Vec<String>,
    in_source: bool,
    source_text: String,
    classes: Vec<RawClass>,
    current: Option<RawClass>,
    has_branches: bool,
}

impl Parser {
    fn start(&mut self, e: &BytesStart, pos: usize) -> Result<(), RawError> {
        match e.local_name().as_ref() {
            b"source" => {
                self.in_source = true;
                self.source_text.clear();
            }
            b"class" => {
                let filename = attr(e, b"filename", pos)?
                    .ok_or_else(|| RawError::malformed(pos, "<class> without a filename"))?;
                self.current = Some(RawClass {
                    filename,
                    lines: Vec::new(),
                });
            }
            b"line" => {
                // <line> also appears inside <method> elements of other tools'
                // reports; only the class-level ones are statements.
                if let Some(class) = self.current.as_mut() {
                    let hit = line_hit(e, pos)?;
                    self.has_branches |= hit.branches.is_some();
                    class.lines.push(hit);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) {
        match name {
            b"source" => {
                self.in_source = false;
                let s = self.source_text.trim().to_string();
                if !s.is_empty() {
                    self.sources.push(s);
                }
            }
            b"class" => {
                if let Some(class) = self.current.take() {
                    self.classes.push(class);
                }
            }
            _ => {}
        }
    }

    fn finish(self, root: &Path) -> CoverageReport {
        let mut files: Vec<FileCoverage> = Vec::with_capacity(self.classes.len());
        let mut outside_root = Vec::new();
        for class in self.classes {
            match resolve(&class.filename, &self.sources, root) {
                Some(path) => {
                    let mut lines = class.lines;
                    lines.sort_by_key(|l| l.line);
                    lines.dedup_by_key(|l| l.line);
                    files.push(FileCoverage { path, lines });
                }
                None => {
                    tracing::debug!(file = %class.filename, "outside the workspace root; ignored");
                    outside_root.push(class.filename);
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        // coverage.py writes one <class> per file, but merged reports may
        // repeat a file: keep one entry with the union of its lines.
        files.dedup_by(|later, first| {
            if later.path != first.path {
                return false;
            }
            first.lines.append(&mut later.lines);
            first.lines.sort_by_key(|l| l.line);
            first.lines.dedup_by_key(|l| l.line);
            true
        });
        CoverageReport {
            files,
            outside_root,
            has_branches: self.has_branches,
        }
    }
}

fn attr(e: &BytesStart, key: &[u8], pos: usize) -> Result<Option<String>, RawError> {
    for a in e.attributes() {
        let a = a.map_err(|err| RawError::malformed(pos, err.to_string()))?;
        if a.key.local_name().as_ref() == key {
            let v = a
                .unescape_value()
                .map_err(|err| RawError::malformed(pos, err.to_string()))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// Reads one `<line>` without allocating: numbers are parsed from the raw bytes.
///
/// quick-xml's generic duplicate-attribute check (every key compared with
/// every earlier one) is the costliest part of a `<line>` (the hot path of a
/// multi-MB report); it is replaced by a check of the attributes read here.
fn line_hit(e: &BytesStart, pos: usize) -> Result<LineHit, RawError> {
    let mut line = None;
    let mut hits = 0u32;
    let mut branches = None;
    let mut seen = 0u8;
    let mut once = |bit: u8, name: &str| {
        if seen & bit != 0 {
            return Err(RawError::malformed(
                pos,
                format!("duplicate attribute `{name}` in <line>"),
            ));
        }
        seen |= bit;
        Ok(())
    };
    let mut attributes = e.attributes();
    attributes.with_checks(false);
    for a in attributes {
        let a = a.map_err(|err| RawError::malformed(pos, err.to_string()))?;
        match a.key.local_name().as_ref() {
            b"number" => {
                once(1, "number")?;
                line = parse_u32(&a.value);
            }
            b"hits" => {
                once(2, "hits")?;
                hits = parse_u32(&a.value)
                    .ok_or_else(|| RawError::malformed(pos, "<line> hits is not a number"))?
            }
            b"condition-coverage" => {
                once(4, "condition-coverage")?;
                branches = parse_condition(&a.value);
            }
            _ => {}
        }
    }
    let line = line
        .filter(|&n| n > 0)
        .ok_or_else(|| RawError::malformed(pos, "<line> without a valid number"))?;
    Ok(LineHit {
        line,
        hits,
        branches,
    })
}

fn parse_u32(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    u32::try_from(n).ok()
}

/// `50% (1/2)` -> covered 1 of 2.
fn parse_condition(b: &[u8]) -> Option<Branches> {
    let open = b.iter().position(|&c| c == b'(')?;
    let close = b.iter().rposition(|&c| c == b')')?;
    let inner = b.get(open + 1..close)?;
    let slash = inner.iter().position(|&c| c == b'/')?;
    let covered = parse_u32(inner[..slash].trim_ascii())?;
    let total = parse_u32(inner[slash + 1..].trim_ascii())?;
    (covered <= total).then_some(Branches { covered, total })
}

/// Finds the file a `<class filename>` names: absolute as it is, else under
/// each `<source>` in turn, else under the root; the first candidate that
/// exists wins, else the first one inside the root.
fn resolve(filename: &str, sources: &[String], root: &Path) -> Option<RelPath> {
    let name = Path::new(filename);
    let mut candidates: Vec<PathBuf> = Vec::new();
    if name.is_absolute() {
        candidates.push(name.to_path_buf());
    } else {
        for s in sources {
            let s = Path::new(s);
            let base = if s.is_absolute() {
                s.to_path_buf()
            } else {
                root.join(s)
            };
            candidates.push(base.join(name));
        }
        candidates.push(root.join(name));
    }
    let inside = |c: &PathBuf| {
        let c = normalize(c);
        RelPath::from_abs(root, &c).or_else(|| {
            // The report may name the root through a symlink or a
            // different spelling; canonical forms compare reliably.
            let c = c.canonicalize().ok()?;
            RelPath::from_abs(&root.canonicalize().ok()?, &c)
        })
    };
    candidates
        .iter()
        .filter(|c| c.exists())
        .find_map(inside)
        .or_else(|| candidates.iter().find_map(inside))
        .filter(|r| !r.as_str().is_empty() && !r.as_str().starts_with(".."))
}

/// Lexical normalisation: removes `.` and folds `..` without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" ?>
<coverage version="7.6.1" line-rate="0.5" branch-rate="0.5" lines-covered="2" lines-valid="4">
	<sources>
		<source>/proj/src</source>
	</sources>
	<packages>
		<package name="pkg" line-rate="0.5">
			<classes>
				<class name="mod.py" filename="pkg/mod.py" complexity="0" line-rate="0.5">
					<methods/>
					<lines>
						<line number="1" hits="1"/>
						<line number="3" hits="0"/>
						<line number="2" hits="1" branch="true" condition-coverage="50% (1/2)" missing-branches="3"/>
						<line number="5" hits="0"/>
					</lines>
				</class>
			</classes>
		</package>
	</packages>
</coverage>
"#;

    #[test]
    fn reads_lines_branches_and_resolves_against_sources() {
        let r = parse(XML.as_bytes(), Path::new("/proj")).unwrap();
        assert!(r.has_branches);
        assert_eq!(r.files.len(), 1);
        let f = &r.files[0];
        assert_eq!(f.path.as_str(), "src/pkg/mod.py");
        assert_eq!(
            f.lines.iter().map(|l| l.line).collect::<Vec<_>>(),
            [1, 2, 3, 5]
        );
        assert_eq!(
            f.lines[1].branches,
            Some(Branches {
                covered: 1,
                total: 2
            })
        );
        assert_eq!(f.covered_lines().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(f.missing_lines().collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn files_outside_root_are_set_aside() {
        let xml = XML.replace("filename=\"pkg/mod.py\"", "filename=\"/other/pkg/mod.py\"");
        let r = parse(xml.as_bytes(), Path::new("/proj")).unwrap();
        assert!(r.files.is_empty());
        assert_eq!(r.outside_root, ["/other/pkg/mod.py"]);
        // A relative name missing under every <source> still resolves under
        // the root: reports made on another machine name other absolute sources.
        let r = parse(XML.as_bytes(), Path::new("/elsewhere")).unwrap();
        assert_eq!(r.files[0].path.as_str(), "pkg/mod.py");
    }

    #[test]
    fn truncated_report_names_line_and_column() {
        let cut = &XML[..XML.find("</lines>").unwrap()];
        let err = parse(cut.as_bytes(), Path::new("/proj"))
            .unwrap_err()
            .at(Path::new("c.xml"), cut.as_bytes());
        let msg = err.to_string();
        assert!(msg.starts_with("c.xml:"), "{msg}");
        assert!(msg.contains("truncated"), "{msg}");
    }

    #[test]
    fn mismatched_tags_and_other_roots_are_errors() {
        let bad = XML.replace("</lines>", "</line>");
        let err = parse(bad.as_bytes(), Path::new("/proj"))
            .unwrap_err()
            .at(Path::new("c.xml"), bad.as_bytes());
        let CoverageError::Malformed { line, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(line, 16);
        let err = parse(b"<html><body/></html>", Path::new("/proj"))
            .unwrap_err()
            .at(Path::new("c.xml"), b"");
        assert!(matches!(err, CoverageError::NotCobertura { .. }), "{err}");
    }

    #[test]
    fn duplicate_line_attribute_is_an_error() {
        let bad = XML.replace(
            r#"<line number="3" hits="0"/>"#,
            r#"<line number="3" hits="0" number="4"/>"#,
        );
        let err = parse(bad.as_bytes(), Path::new("/proj"))
            .unwrap_err()
            .at(Path::new("c.xml"), bad.as_bytes());
        let msg = err.to_string();
        assert!(msg.starts_with("c.xml:12:"), "{msg}");
        assert!(msg.contains("duplicate attribute `number`"), "{msg}");
    }

    #[test]
    fn condition_coverage_parsing() {
        assert_eq!(
            parse_condition(b"100% (2/2)"),
            Some(Branches {
                covered: 2,
                total: 2
            })
        );
        assert_eq!(
            parse_condition(b"0% (0/3)"),
            Some(Branches {
                covered: 0,
                total: 3
            })
        );
        assert_eq!(parse_condition(b"garbage"), None);
        assert_eq!(parse_condition(b"(3/2)"), None);
    }
}
