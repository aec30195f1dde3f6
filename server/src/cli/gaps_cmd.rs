//! `testgen gaps PATH [--coverage FILE] [--json] [--min-coverage 90] [--gate]`:
//! what is not tested, per file and per function. Schema: docs/gaps-schema.md.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use testgen::coverage::cobertura;
use testgen::coverage::gaps::{self, GapReport};
use testgen::index::Index;
use testgen::workspace::{self, artifacts};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// coverage.py's Cobertura XML [default: the newer of PATH/coverage.xml and PATH/.testgen/coverage.xml].
    #[arg(long, value_name = "FILE")]
    pub coverage: Option<PathBuf>,
    /// Print the report as one JSON object (also written to PATH/.testgen/coverage_gaps.json).
    #[arg(long)]
    pub json: bool,
    /// Coverage (percent) below which the project needs generated tests.
    #[arg(long, value_name = "PERCENT", default_value_t = 90.0)]
    pub min_coverage: f64,
    /// Exit with code 1 when the overall coverage is below --min-coverage.
    #[arg(long)]
    pub gate: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(0.0..=100.0).contains(&args.min_coverage) {
        return Err(super::Failure::usage("--min-coverage must be between 0 and 100").into());
    }
    let project =
        workspace::discover(&args.path).map_err(|e| super::Failure::usage(e.to_string()))?;
    let xml = coverage_file(&project.root, args.coverage.as_deref())?;
    let report =
        cobertura::read(&xml, &project.root).map_err(|e| super::Failure::usage(e.to_string()))?;
    if report.files.is_empty() && !report.outside_root.is_empty() {
        return Err(super::Failure::usage(format!(
            "{}: none of its {} files lies under {} (was it made for another project?)",
            xml.display(),
            report.outside_root.len(),
            project.root.display()
        ))
        .into());
    }
    let index = Index::build(&project);
    let gaps = gaps::analyze(&report, |p| index.file(p), args.min_coverage);
    save(&project.root, &gaps);

    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut w, &gaps).context("writing JSON")?;
        writeln!(w)?;
    } else {
        summary(&mut w, &xml, &gaps)?;
    }
    w.flush()?;
    if args.gate && gaps.needs_ai_generation {
        eprintln!(
            "testgen: coverage {:.2}% is below --min-coverage {}%",
            gaps.overall_coverage, args.min_coverage
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The explicit file, else the fresher of the reference's default places.
fn coverage_file(root: &Path, explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let candidates = testgen::coverage::default_reports(root);
    let newest = testgen::coverage::fresh_report(root);
    newest.ok_or_else(|| {
        super::Failure::usage(format!(
            "no coverage report: neither {} nor {} exists (run `testgen test {}` or pass --coverage FILE)",
            candidates[0].display(),
            candidates[1].display(),
            root.display()
        ))
        .into()
    })
}

/// Keeps the reference's coverage_gaps.json artifact, under .testgen/. A
/// read-only project still gets its report on stdout, hence only a warning.
fn save(root: &Path, gaps: &GapReport) {
    let result = artifacts::ensure_dir(root).and_then(|dir| {
        let json = serde_json::to_vec_pretty(gaps).map_err(std::io::Error::other)?;
        artifacts::write_atomic(&dir.join("coverage_gaps.json"), &json)
    });
    if let Err(e) = result {
        tracing::warn!("could not write .testgen/coverage_gaps.json: {e}");
    }
}

fn summary(w: &mut impl Write, xml: &Path, g: &GapReport) -> std::io::Result<()> {
    writeln!(w, "coverage report: {}", xml.display())?;
    writeln!(
        w,
        "overall: {:.2}% ({} of {} statements missing{}); threshold {}%{}",
        g.overall_coverage,
        g.missing_statements,
        g.total_statements,
        if g.total_branches > 0 {
            format!(
                ", {} of {} branches missing",
                g.missing_branches, g.total_branches
            )
        } else {
            String::new()
        },
        g.min_coverage,
        if g.needs_ai_generation {
            " -> needs tests"
        } else {
            " -> ok"
        }
    )?;
    const SHOWN: usize = 10;
    if !g.files_with_gaps.is_empty() {
        writeln!(w, "\nfiles with gaps (most missing first):")?;
        for (path, f) in g.files_with_gaps.iter().take(SHOWN) {
            writeln!(
                w,
                "  {:>6.2}%  {:>4} missing  {path}",
                f.coverage_percentage,
                f.missing_lines.len()
            )?;
        }
    }
    let mut worst: Vec<_> = g
        .functions
        .iter()
        .filter(|f| !f.missing_lines.is_empty())
        .collect();
    worst.sort_by_key(|f| std::cmp::Reverse(f.missing_lines.len()));
    if !worst.is_empty() {
        writeln!(w, "\nfunctions with the most missing statements:")?;
        for f in worst.iter().take(SHOWN) {
            writeln!(
                w,
                "  {:>6.2}%  {:>4} missing  {}:{} {}",
                f.coverage_percentage,
                f.missing_lines.len(),
                f.path,
                f.line,
                f.qualname
            )?;
        }
    }
    Ok(())
}
