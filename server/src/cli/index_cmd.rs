//! `testgen index PATH [--json]`: the project as the index sees it.
//! Schema of the JSON output: docs/index-schema.md.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use testgen::index::analysis::Analysis;
use testgen::index::model::RelPath;
use testgen::index::Index;
use testgen::workspace::{self, Project};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// Print one JSON object (schema: docs/index-schema.md) instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let project =
        workspace::discover(&args.path).map_err(|e| super::Failure::usage(e.to_string()))?;
    let index = Index::build(&project);
    let snapshot = index.snapshot();
    let out = Analysis::of(&project, &snapshot);
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

fn summary(w: &mut impl Write, project: &Project, out: &Analysis) -> std::io::Result<()> {
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
