//! `testgen index PATH [--json]`: the project as the index sees it.
//! Schema of the JSON output: docs/index-schema.md.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use testgen::index::model::{
    ClassInfo, DjangoComponent, Framework, FunctionInfo, ImportInfo, ParseErrorInfo, RelPath,
    RouteInfo,
};
use testgen::index::Index;
use testgen::workspace::{self, Project, TestsInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// Print one JSON object (schema: docs/index-schema.md) instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    root: String,
    python_root: String,
    framework: Framework,
    files: usize,
    lossy_files: Vec<&'a RelPath>,
    parse_errors: Vec<&'a ParseErrorInfo>,
    functions: Vec<&'a FunctionInfo>,
    classes: Vec<&'a ClassInfo>,
    routes: Vec<&'a RouteInfo>,
    imports: Vec<&'a ImportInfo>,
    django: Vec<&'a DjangoComponent>,
    tests: &'a TestsInfo,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let project =
        workspace::discover(&args.path).map_err(|e| super::Failure::usage(e.to_string()))?;
    let index = Index::build(&project);
    let snapshot = index.snapshot();
    let framework =
        testgen::index::framework::detect(snapshot.iter().map(|(p, f)| (p, f.as_ref())));
    let out = Output {
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
    };
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut w, &out).context("writing JSON")?;
        writeln!(w)?;
    } else {
        summary(&mut w, &project, &out)?;
    }
    w.flush()?;
    drop(out);
    // The process ends right after this: freeing every file's index one
    // allocation at a time would cost ~8% of the run on a large project
    // (Django: ~40,000 functions), for memory the OS takes back anyway.
    std::mem::forget(snapshot);
    std::mem::forget(index);
    Ok(ExitCode::SUCCESS)
}

fn summary(w: &mut impl Write, project: &Project, out: &Output) -> std::io::Result<()> {
    writeln!(w, "root:        {}", out.root)?;
    let py_root = RelPath::from_abs(&project.root, &project.python_root)
        .map_or_else(|| out.python_root.clone(), |r| format!("./{r}"));
    writeln!(w, "python root: {py_root}")?;
    writeln!(w, "framework:   {}", out.framework.as_str())?;
    writeln!(
        w,
        "indexed:     {} files, {} functions, {} classes, {} routes, {} imports",
        out.files,
        out.functions.len(),
        out.classes.len(),
        out.routes.len(),
        out.imports.len()
    )?;
    if out.tests.found {
        let root = out.tests.root.as_ref().map_or(".", |r| r.as_str());
        let root = if root.is_empty() { "." } else { root };
        writeln!(
            w,
            "tests:       {} test files under {root}",
            out.tests.files.len()
        )?;
    } else {
        writeln!(w, "tests:       none found")?;
    }
    for p in &out.lossy_files {
        writeln!(w, "warning: {p}: not valid UTF-8, decoded lossily")?;
    }
    const SHOWN: usize = 10;
    for e in out.parse_errors.iter().take(SHOWN) {
        writeln!(
            w,
            "syntax error: {}:{}:{}: {}",
            e.path, e.line, e.column, e.message
        )?;
    }
    if out.parse_errors.len() > SHOWN {
        writeln!(
            w,
            "... and {} more syntax errors (see --json)",
            out.parse_errors.len() - SHOWN
        )?;
    }
    Ok(())
}
