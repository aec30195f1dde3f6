//! Web-framework knowledge: Flask/FastAPI routes from decorators, Django URL
//! patterns from urls.py, Django components from class bases.
//!
//! INTERFACE STUB (owned by the workspace/web work): signatures fixed, bodies to be written.

use ruff_python_ast::ModModule;
use ruff_source_file::LineIndex;

use super::model::{ClassInfo, DjangoComponent, FunctionInfo, RelPath, RouteInfo};

/// Routes declared by this function's decorators (`@app.route`, `@bp.get`, `@router.post`, ...).
pub fn routes_for_function(_function: &FunctionInfo) -> Vec<RouteInfo> {
    Vec::new()
}

/// The Django component a class is (model, serializer, view, form, admin), if any.
pub fn django_component(_class: &ClassInfo) -> Option<DjangoComponent> {
    None
}

/// Django URL patterns (`path()`, `re_path()`) of a urls.py module.
pub fn django_urls(
    _module: &ModModule,
    _source: &str,
    _lines: &LineIndex,
    _path: &RelPath,
) -> Vec<RouteInfo> {
    Vec::new()
}
