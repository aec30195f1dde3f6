//! What the index extracts from one file, and the incremental store.

use testgen::index::model::{FunctionKind, ParamKind, RelPath};
use testgen::index::{index_source, Index};

const SOURCE: &str = r#"import os, sys as system
from . import sibling
from ..pkg.mod import a as b, c

def top(a, /, b: int = 3, *args: str, c, d: "str" = "x", **kw) -> None:
    """Top doc.

    More."""
    def inner():
        class Local:
            def meth(self):
                return 1
        return Local
    return inner

@decorator
@other.deco(1,
            2)
async def coro(
    x,
    y=lambda z: z,
):
    await x

class Outer(Base, metaclass=Meta):
    """Outer doc."""
    class Inner:
        def m(self):
            pass

    @property
    def value(self):
        return 1

    @value.setter
    def value(self, v):
        pass

    @classmethod
    def make(cls):
        return cls()

    @staticmethod
    def helper():
        return 2

    if sys.version_info > (3,):
        def guarded(self):
            pass
    try:
        def in_try(self):
            pass
    except ImportError:
        def in_except(self):
            pass
"#;

fn rel(s: &str) -> RelPath {
    RelPath::new(s)
}

#[test]
fn qualnames_follow_python() {
    let fi = index_source(&rel("pkg/mod.py"), SOURCE.as_bytes());
    let names: Vec<&str> = fi.functions.iter().map(|f| f.qualname.as_str()).collect();
    assert_eq!(
        names,
        [
            "top",
            "top.<locals>.inner",
            "top.<locals>.inner.<locals>.Local.meth",
            "coro",
            "Outer.Inner.m",
            "Outer.value",
            "Outer.value",
            "Outer.make",
            "Outer.helper",
            "Outer.guarded",
            "Outer.in_try",
            "Outer.in_except",
        ]
    );
    assert!(fi.parse_errors.is_empty());
}

#[test]
fn lines_decorators_and_kinds() {
    let fi = index_source(&rel("m.py"), SOURCE.as_bytes());
    let coro = fi.functions.iter().find(|f| f.name == "coro").unwrap();
    assert_eq!(coro.decorator_line, Some(16));
    assert_eq!(coro.line, 19, "line is the def keyword, not the decorator");
    assert_eq!(coro.body_line, 23);
    assert_eq!(coro.end_line, 23);
    assert!(coro.is_async);
    assert_eq!(
        coro.decorators,
        ["decorator", "other.deco(1,\n            2)"]
    );
    assert_eq!(coro.params[1].default.as_deref(), Some("lambda z: z"));

    let kinds: Vec<(String, FunctionKind)> = fi
        .functions
        .iter()
        .filter(|f| f.class.as_deref() == Some("Outer"))
        .map(|f| (f.name.clone(), f.kind))
        .collect();
    assert!(kinds.contains(&("value".into(), FunctionKind::Property)));
    assert!(kinds.contains(&("make".into(), FunctionKind::Classmethod)));
    assert!(kinds.contains(&("helper".into(), FunctionKind::Staticmethod)));
    assert!(kinds.contains(&("guarded".into(), FunctionKind::Method)));
    let local = fi.functions.iter().find(|f| f.name == "meth").unwrap();
    assert_eq!(
        local.class.as_deref(),
        Some("top.<locals>.inner.<locals>.Local")
    );
    assert_eq!(local.depth, 3);
}

#[test]
fn params_docstrings_classes_imports() {
    let fi = index_source(&rel("m.py"), SOURCE.as_bytes());
    let top = &fi.functions[0];
    let kinds: Vec<ParamKind> = top.params.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ParamKind::PositionalOnly,
            ParamKind::Regular,
            ParamKind::VarPositional,
            ParamKind::KeywordOnly,
            ParamKind::KeywordOnly,
            ParamKind::VarKeyword
        ]
    );
    assert_eq!(top.params[1].annotation.as_deref(), Some("int"));
    assert_eq!(top.params[1].default.as_deref(), Some("3"));
    assert_eq!(top.params[4].annotation.as_deref(), Some("\"str\""));
    assert_eq!(top.docstring.as_deref(), Some("Top doc."));

    let outer = fi.classes.iter().find(|c| c.name == "Outer").unwrap();
    assert_eq!(outer.bases, ["Base", "metaclass=Meta"]);
    assert_eq!(outer.docstring.as_deref(), Some("Outer doc."));
    assert_eq!(outer.methods.len(), 7);
    assert!(fi
        .classes
        .iter()
        .any(|c| c.qualname == "top.<locals>.inner.<locals>.Local"));

    let imports: Vec<(String, Vec<String>, u32)> = fi
        .imports
        .iter()
        .map(|i| (i.module.clone(), i.names.clone(), i.level))
        .collect();
    assert_eq!(
        imports,
        [
            ("os".into(), vec![], 0),
            ("sys".into(), vec![], 0),
            ("".into(), vec!["sibling".into()], 1),
            ("pkg.mod".into(), vec!["a".into(), "c".into()], 2),
        ]
    );
}

#[test]
fn syntax_errors_keep_what_parses() {
    let src = "def good():\n    return 1\n\ndef bad(:\n    pass\n\nclass Fine:\n    def ok(self):\n        return 2\n";
    let fi = index_source(&rel("broken.py"), src.as_bytes());
    assert!(!fi.parse_errors.is_empty());
    let e = &fi.parse_errors[0];
    assert_eq!(e.line, 4);
    assert!(e.column >= 9, "column {}", e.column);
    let names: Vec<&str> = fi.functions.iter().map(|f| f.qualname.as_str()).collect();
    assert!(names.contains(&"good"), "{names:?}");
    assert!(names.contains(&"Fine.ok"), "{names:?}");
}

#[test]
fn non_utf8_is_decoded_lossily_and_bom_is_ignored() {
    let mut bytes = b"# caf\xe9\ndef f():\n    return '\xff'\n".to_vec();
    let fi = index_source(&rel("latin.py"), &bytes);
    assert!(fi.lossy);
    assert_eq!(fi.functions[0].line, 2);
    bytes = b"\xEF\xBB\xBFdef g():\n    pass\n".to_vec();
    let fi = index_source(&rel("bom.py"), &bytes);
    assert!(!fi.lossy && fi.parse_errors.is_empty());
    assert_eq!(fi.functions[0].line, 1);
}

#[test]
fn reindex_replaces_one_file_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), "def a():\n    pass\n").unwrap();
    std::fs::write(dir.path().join("b.py"), "def b():\n    pass\n").unwrap();
    let project = testgen::workspace::discover(dir.path()).unwrap();
    let index = Index::build(&project);
    assert_eq!(index.len(), 2);
    let b_before = index.file(&rel("b.py")).unwrap();
    let a = index.reindex_file(&rel("a.py"), b"def a():\n    pass\n\ndef a2():\n    pass\n");
    assert_eq!(a.functions.len(), 2);
    assert_eq!(index.file(&rel("a.py")).unwrap().functions.len(), 2);
    // The other file's entry is the very same Arc: it was not touched.
    assert!(std::sync::Arc::ptr_eq(
        &b_before,
        &index.file(&rel("b.py")).unwrap()
    ));
}

/// A decorator whose name ends in "async" is not the `async` keyword: the
/// function's line is still the `def` line (Django's `@sync_to_async`).
#[test]
fn decorator_ending_in_async_is_not_the_async_keyword() {
    let src = "@sync_to_async\ndef f():\n    pass\n\n@deco\nasync def g():\n    pass\n\n@x.run_async\n\nasync  def h():\n    pass\n";
    let fi = index_source(&rel("m.py"), src.as_bytes());
    let lines: Vec<(&str, u32, Option<u32>, bool)> = fi
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.line, f.decorator_line, f.is_async))
        .collect();
    assert_eq!(
        lines,
        [
            ("f", 2, Some(1), false),
            ("g", 6, Some(5), true),
            ("h", 11, Some(9), true)
        ]
    );
}
