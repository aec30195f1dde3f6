//! Fills in each result's file (relative to the workspace root) and the line
//! of its test function, resolved through the index: JUnit XML only knows
//! pytest's rootdir-relative file and the test's name.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::index::index_source;
use crate::index::model::{FileIndex, RelPath};

use super::junit::TestResult;

pub(super) fn locate(tests: &mut [TestResult], root: &Path, python_root: &Path) {
    let mut indexed: HashMap<String, Option<Arc<FileIndex>>> = HashMap::new();
    for t in tests.iter_mut() {
        let Some(file) = t.file.clone() else { continue };
        let abs = python_root.join(&file);
        let Some(rel) = RelPath::from_abs(root, &abs) else {
            continue;
        };
        t.file = Some(rel.to_string());
        let index = indexed
            .entry(file)
            .or_insert_with(|| {
                std::fs::read(&abs)
                    .ok()
                    .map(|bytes| Arc::new(index_source(&rel, &bytes)))
            })
            .clone();
        let (Some(index), Some(qualname)) = (index, qualname_of(&t.nodeid)) else {
            continue;
        };
        t.line = index
            .functions
            .iter()
            .find(|f| f.qualname == qualname)
            .map(|f| f.line);
    }
}

/// `tests/t.py::TestX::test_y[1-2]` -> `TestX.test_y`; None for a module.
fn qualname_of(nodeid: &str) -> Option<String> {
    let (_, rest) = nodeid.split_once("::")?;
    let rest = rest.split('[').next().unwrap_or(rest);
    Some(rest.replace("::", "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualnames() {
        assert_eq!(qualname_of("t.py::test_a").as_deref(), Some("test_a"));
        assert_eq!(
            qualname_of("t.py::C::test_b[x::y]").as_deref(),
            Some("C.test_b")
        );
        assert_eq!(qualname_of("t.py"), None);
    }
}
