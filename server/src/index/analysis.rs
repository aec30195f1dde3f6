//! The project as the index sees it, in one serializable value: the JSON of
//! `testgen index --json` and `testgen run`'s `.testgen/analysis.json`
//! (schema: docs/index-schema.md).

use serde::Serialize;

use super::model::{
    ClassInfo, DjangoComponent, FileIndex, Framework, FunctionInfo, ImportInfo, ParseErrorInfo,
    RelPath, RouteInfo,
};
use crate::workspace::{Project, TestsInfo};

#[derive(Serialize)]
pub struct Analysis<'a> {
    pub root: String,
    pub python_root: String,
    pub framework: Framework,
    pub files: usize,
    pub lossy_files: Vec<&'a RelPath>,
    pub parse_errors: Vec<&'a ParseErrorInfo>,
    pub functions: Vec<&'a FunctionInfo>,
    pub classes: Vec<&'a ClassInfo>,
    pub routes: Vec<&'a RouteInfo>,
    pub imports: Vec<&'a ImportInfo>,
    pub django: Vec<&'a DjangoComponent>,
    pub tests: &'a TestsInfo,
}

impl<'a> Analysis<'a> {
    /// `snapshot` is `Index::snapshot()` of `project`.
    pub fn of(
        project: &'a Project,
        snapshot: &'a [(RelPath, std::sync::Arc<FileIndex>)],
    ) -> Analysis<'a> {
        let framework = super::framework::detect(snapshot.iter().map(|(p, f)| (p, f.as_ref())));
        Analysis {
            root: project.root.display().to_string(),
            python_root: project.python_root.display().to_string(),
            framework,
            files: snapshot.len(),
            lossy_files: snapshot
                .iter()
                .filter(|(_, f)| f.lossy)
                .map(|(p, _)| p)
                .collect(),
            parse_errors: snapshot.iter().flat_map(|(_, f)| &f.parse_errors).collect(),
            functions: snapshot.iter().flat_map(|(_, f)| &f.functions).collect(),
            classes: snapshot.iter().flat_map(|(_, f)| &f.classes).collect(),
            routes: snapshot.iter().flat_map(|(_, f)| &f.routes).collect(),
            imports: snapshot.iter().flat_map(|(_, f)| &f.imports).collect(),
            django: snapshot.iter().flat_map(|(_, f)| &f.django).collect(),
            tests: &project.tests,
        }
    }
}
