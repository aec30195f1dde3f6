//! Framework detection (Django, FastAPI, Flask, plain Python) from the index,
//! with the reference pipeline's conflict resolution. Deterministic: evidence
//! is accumulated into flags, so file order cannot change the answer.
//!
//! A framework is *detected* by its imports (`django.*`/`rest_framework.*`;
//! `fastapi.*`/`starlette.*`/`uvicorn`; `flask.*`/`flask_*`), by routes the
//! index attributed to it, and for Django by `manage.py`. When several are
//! detected (a hybrid repo), as in the reference:
//! 1. Django wins if `manage.py` or `settings.py` is present;
//! 2. else FastAPI if `FastAPI`/`APIRouter` is imported;
//! 3. else Flask if it has routes or `Flask`/`Blueprint` is imported;
//! 4. else the alphabetically first.
//!
//! Deliberate deviation: `settings.py`, `urls.py` and `wsgi.py` alone do not
//! *detect* Django (the reference counts them): Flask projects routinely have
//! a `settings.py` and a `wsgi.py`, and would otherwise be called Django by
//! rule 1. They still break ties once Django is detected by real evidence.

use super::model::{FileIndex, Framework, ImportInfo, RelPath};
use super::web::{is_fastapi_module, is_flask_module, top_package};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Evidence {
    django: bool,
    fastapi: bool,
    flask: bool,
    /// `manage.py` or `settings.py` exists (conflict rule 1).
    django_project_files: bool,
    /// `FastAPI` or `APIRouter` is imported (conflict rule 2).
    fastapi_app: bool,
    /// Flask routes exist, or `Flask`/`Blueprint` is imported (conflict rule 3).
    flask_app: bool,
}

/// Detects the project's framework from its files (path + index of each).
pub fn detect<'a>(files: impl IntoIterator<Item = (&'a RelPath, &'a FileIndex)>) -> Framework {
    let mut evidence = Evidence::default();
    for (path, index) in files {
        evidence.add_file(path, index);
    }
    evidence.resolve()
}

impl Evidence {
    fn add_file(&mut self, path: &RelPath, index: &FileIndex) {
        match path.file_name() {
            "manage.py" => {
                self.django = true;
                self.django_project_files = true;
            }
            "settings.py" => self.django_project_files = true,
            _ => {}
        }
        for import in &index.imports {
            self.add_import(import);
        }
        for route in &index.routes {
            match route.framework {
                Framework::Django => self.django = true,
                Framework::Fastapi => self.fastapi = true,
                Framework::Flask => {
                    self.flask = true;
                    self.flask_app = true;
                }
                Framework::Python => {}
            }
        }
    }

    fn add_import(&mut self, import: &ImportInfo) {
        // Relative imports (`from .flask import x`) name the project's own modules.
        if import.level > 0 {
            return;
        }
        let module = import.module.as_str();
        let imports_any = |names: &[&str]| import.names.iter().any(|n| names.contains(&n.as_str()));
        if matches!(top_package(module), "django" | "rest_framework") {
            self.django = true;
        } else if is_fastapi_module(module) || top_package(module) == "uvicorn" {
            self.fastapi = true;
            // `import fastapi` then `fastapi.FastAPI()` is the same evidence.
            if top_package(module) == "fastapi"
                && (imports_any(&["FastAPI", "APIRouter"]) || import.names.is_empty())
            {
                self.fastapi_app = true;
            }
        } else if is_flask_module(module) {
            self.flask = true;
            if top_package(module) == "flask"
                && (imports_any(&["Flask", "Blueprint"]) || import.names.is_empty())
            {
                self.flask_app = true;
            }
        }
    }

    fn resolve(self) -> Framework {
        let detected: Vec<Framework> = [
            (self.django, Framework::Django),
            (self.fastapi, Framework::Fastapi),
            (self.flask, Framework::Flask),
        ]
        .into_iter()
        .filter_map(|(found, fw)| found.then_some(fw))
        .collect();
        match detected.as_slice() {
            [] => Framework::Python,
            [only] => *only,
            _ if self.django && self.django_project_files => Framework::Django,
            _ if self.fastapi && self.fastapi_app => Framework::Fastapi,
            _ if self.flask && self.flask_app => Framework::Flask,
            // Alphabetical: the enum's order is the names' order.
            several => several.iter().copied().min().unwrap_or(Framework::Python),
        }
    }
}

#[cfg(test)]
#[path = "framework_tests.rs"]
mod tests;
