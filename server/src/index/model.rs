//! The data the index extracts from Python files. Shared by every other module:
//! coverage maps lines onto [`FunctionInfo`] ranges, the runner resolves test
//! lines through it, generators pick targets from it, the LSP draws it.
//!
//! All line numbers are 1-based, as Python's `ast` and coverage.py count them.
//! Paths are relative to the workspace root, '/'-separated ([`RelPath`]).

use serde::{Deserialize, Serialize};

/// A path relative to the workspace root, always '/'-separated, never starting with '/'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelPath(String);

impl RelPath {
    /// Builds a RelPath from a root-relative path, normalising separators.
    pub fn new(s: impl AsRef<str>) -> Self {
        let s = s.as_ref().replace('\\', "/");
        RelPath(
            s.trim_start_matches("./")
                .trim_start_matches('/')
                .to_string(),
        )
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The relative path of `path` below `root`, or None when it lies outside.
    pub fn from_abs(root: &std::path::Path, path: &std::path::Path) -> Option<Self> {
        let rel = path.strip_prefix(root).ok()?;
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(RelPath(parts.join("/")))
    }
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Django,
    Fastapi,
    Flask,
    Python,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Django => "django",
            Framework::Fastapi => "fastapi",
            Framework::Flask => "flask",
            Framework::Python => "python",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    PositionalOnly,
    Regular,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    /// Source text of the annotation, as written.
    pub annotation: Option<String>,
    /// Source text of the default value, as written.
    pub default: Option<String>,
}

/// How a function is bound: plain function, method, or a decorated method kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    Function,
    Method,
    Property,
    Classmethod,
    Staticmethod,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    pub path: RelPath,
    /// Python's `__qualname__`: `Cls.meth`, `outer.<locals>.inner`.
    pub qualname: String,
    pub name: String,
    /// Qualname of the directly enclosing class, when this is a method.
    pub class: Option<String>,
    /// Line of the `def` keyword (not of the first decorator).
    pub line: u32,
    /// Last line of the body.
    pub end_line: u32,
    /// Line of the first decorator, when decorated.
    pub decorator_line: Option<u32>,
    /// Line of the first statement of the body, as Python's ast reports its
    /// `lineno` (for a decorated def/class: the keyword line). The function's
    /// own lines are `body_line..=end_line`, as in coverage.py's regions.
    pub body_line: u32,
    pub is_async: bool,
    pub kind: FunctionKind,
    /// Decorator expressions as source text, without the '@'.
    pub decorators: Vec<String>,
    pub params: Vec<Param>,
    /// First line of the docstring, stripped.
    pub docstring: Option<String>,
    /// Nesting depth: 0 for module level, 1 for a method or a nested function, ...
    pub depth: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodRef {
    pub name: String,
    pub kind: FunctionKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInfo {
    pub path: RelPath,
    pub qualname: String,
    pub name: String,
    pub line: u32,
    pub end_line: u32,
    pub decorator_line: Option<u32>,
    /// Base class expressions as source text.
    pub bases: Vec<String>,
    pub methods: Vec<MethodRef>,
    pub docstring: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportInfo {
    pub path: RelPath,
    /// `a.b` for `import a.b` / `from a.b import c`; empty for `from . import x`.
    pub module: String,
    /// Imported names (`from m import x, y`), empty for `import m`.
    pub names: Vec<String>,
    /// Number of leading dots of a relative import.
    pub level: u32,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    pub path: RelPath,
    /// Qualname of the handler function (or the view expression's source for Django).
    pub function: String,
    /// The URL pattern as written, e.g. `/items/<int:item_id>` or `items/<int:pk>/`.
    pub route: String,
    /// Upper-case HTTP methods; empty when the framework accepts any (Django).
    pub methods: Vec<String>,
    pub framework: Framework,
    pub line: u32,
    /// The object the route is registered on (`app`, `bp`, `router`).
    pub owner: Option<String>,
    pub status_code: Option<String>,
    pub response_model: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DjangoKind {
    Model,
    Serializer,
    View,
    Form,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DjangoComponent {
    pub path: RelPath,
    pub kind: DjangoKind,
    pub name: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseErrorInfo {
    pub path: RelPath,
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    pub message: String,
}

/// Everything extracted from one file. Immutable once built: re-indexing a
/// file replaces its `FileIndex` as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIndex {
    pub functions: Vec<FunctionInfo>,
    pub classes: Vec<ClassInfo>,
    pub imports: Vec<ImportInfo>,
    pub routes: Vec<RouteInfo>,
    pub django: Vec<DjangoComponent>,
    pub parse_errors: Vec<ParseErrorInfo>,
    /// The file was not valid UTF-8 and was decoded lossily.
    pub lossy: bool,
    /// Number of lines in the file.
    pub line_count: u32,
}
