//! Shards: what `testgen run --shard K/N` leaves for merging, and
//! `testgen merge PATH DIR...`, which combines the shards' results into one
//! `tests/generated/`, one coverage report (`coverage combine` of the
//! shards' data, paths remapped onto PATH) and one report, and applies the
//! gates once.
//!
//! A shard's artifact directory (its `.testgen/`, as a CI job uploads it)
//! holds `shard.json` (which shard, where it ran), `shard-generated/` (a
//! copy of its tests/generated/), `.coverage` and `test-results.json` of its
//! final run, and `iteration_report.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::report::{self, RunReport, Stop};
use super::{files, gates, render, Options, PipelineError};
use crate::generate::baseline::{self, Kind};
use crate::generate::output::{Manifest, DIR as GENERATED};
use crate::index::Index;
use crate::runner::{process, Counts, TestResult};
use crate::workspace::{artifacts, Project};

/// Copy of the shard's tests/generated/ inside its artifact directory.
pub const SHARD_GENERATED: &str = "shard-generated";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardInfo {
    pub shard: super::Shard,
    /// Absolute Python root the shard ran in (its coverage data names files
    /// under it).
    pub python_root: PathBuf,
}

/// After a sharded run: what the merge job needs, inside `.testgen/`.
pub fn save_shard(project: &Project, shard: super::Shard) -> Result<(), PipelineError> {
    let io = |c: &'static str| {
        move |source| PipelineError::Io {
            context: c.to_string(),
            source,
        }
    };
    let dir = project.root.join(artifacts::DIR);
    let copy = dir.join(SHARD_GENERATED);
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).map_err(io("creating shard-generated/"))?;
    let gen = project.python_root.join(GENERATED);
    if let Ok(entries) = std::fs::read_dir(&gen) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_file() {
                std::fs::copy(&p, copy.join(e.file_name()))
                    .map_err(io("copying tests/generated/"))?;
            }
        }
    }
    let info = ShardInfo {
        shard,
        python_root: project.python_root.clone(),
    };
    files::write_json(&project.root, "shard.json", &info).map_err(io("writing shard.json"))?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: not a shard's artifact directory (no shard.json); pass the .testgen/ directories that `testgen run --shard K/N` wrote", .0.display())]
    NotAShard(PathBuf),
    #[error("{}: {message}", path.display())]
    Bad { path: PathBuf, message: String },
    #[error("shards {a} and {b} both wrote {file} with different contents; were they run on the same commit?")]
    Conflict { file: String, a: String, b: String },
    #[error("the shards are {found} of {count}: every shard 1..{count} must be given once")]
    Incomplete { found: String, count: u32 },
    #[error("combining the shards' coverage data failed: {0}")]
    Combine(String),
}

struct Loaded {
    dir: PathBuf,
    info: ShardInfo,
    report: RunReport,
}

fn load(dir: &Path) -> Result<Loaded, MergeError> {
    let read = |name: &str| -> Result<Vec<u8>, MergeError> {
        std::fs::read(dir.join(name)).map_err(|e| MergeError::Bad {
            path: dir.join(name),
            message: e.to_string(),
        })
    };
    if !dir.join("shard.json").is_file() {
        return Err(MergeError::NotAShard(dir.to_path_buf()));
    }
    let parse = |name: &str| {
        let bytes = read(name)?;
        Ok::<_, MergeError>((bytes, dir.join(name)))
    };
    let (b, p) = parse("shard.json")?;
    let info: ShardInfo = serde_json::from_slice(&b).map_err(|e| MergeError::Bad {
        path: p,
        message: e.to_string(),
    })?;
    let (b, p) = parse("iteration_report.json")?;
    let report: RunReport = serde_json::from_slice(&b).map_err(|e| MergeError::Bad {
        path: p,
        message: e.to_string(),
    })?;
    Ok(Loaded {
        dir: dir.to_path_buf(),
        info,
        report,
    })
}

/// Merges the shards' results into `project` and writes the reports.
pub async fn merge(
    project: &Project,
    dirs: &[PathBuf],
    opts: &Options,
    python: &Path,
    cancel: &CancellationToken,
) -> Result<RunReport, PipelineError> {
    let started = Instant::now();
    // Absolute: coverage.py runs in the project's directory.
    let shards = dirs
        .iter()
        .map(|d| load(&std::path::absolute(d).unwrap_or_else(|_| d.clone())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(merge_err)?;
    complete(&shards).map_err(merge_err)?;
    let _lock = crate::runner::lock_project(&project.root, cancel).await?;
    files::clean(&project.root).map_err(super::io("removing the previous run's artifacts"))?;
    copy_tests(project, &shards).map_err(merge_err)?;
    let out = project.root.join(artifacts::DIR);
    combine(project, &shards, python, &out, cancel)
        .await
        .map_err(merge_err)?;

    let index = Index::build(project);
    let after = baseline::read(
        project,
        &index,
        Kind::Measured,
        &out.join("coverage.xml"),
        opts.min_coverage,
    )?;
    let tests = union_results(&shards);
    let json = serde_json::to_vec(&tests)
        .map_err(|e| super::io("writing test-results.json")(std::io::Error::other(e)))?;
    artifacts::write_atomic(&out.join("test-results.json"), &json)
        .map_err(super::io("writing test-results.json"))?;
    let first = &shards[0].report;
    let stop = Stop::Merged {
        shards: shards.len() as u32,
    };
    let gates = gates::check(opts, &first.coverage_before, &after.coverage, stop);
    let mut rounds: Vec<report::Round> = shards
        .iter()
        .flat_map(|s| s.report.rounds.clone())
        .collect();
    rounds.sort_by_key(|r| (r.shard.map(|s| s.index), r.round));
    let report = RunReport {
        version: 1,
        engine: first.engine.clone(),
        python_root: first.python_root.clone(),
        shard: None,
        manual_tests: first.manual_tests.clone(),
        baseline: first.baseline,
        delta: super::round2(after.coverage.line_percent - first.coverage_before.line_percent),
        coverage_before: first.coverage_before.clone(),
        coverage_after: after.coverage.clone(),
        rounds,
        stop,
        final_tests: Counts::of(&tests),
        failing_tests: super::failing(&tests),
        generated: render::generated_tests(project),
        files: after.files.clone(),
        // Shards of a pull-request run gate on their own changed lines.
        changed: None,
        remaining_gaps: merged_gaps(&after, &shards),
        suspected_bugs: shards
            .iter()
            .flat_map(|s| s.report.suspected_bugs.clone())
            .collect(),
        capped: shards
            .iter()
            .flat_map(|s| s.report.capped.clone())
            .collect(),
        fixer: first.fixer.clone(),
        passed: gates.iter().all(|g| g.passed),
        gates,
        duration_s: started.elapsed().as_secs_f64(),
    };
    let root = &project.root;
    let w = |name: &'static str, r: std::io::Result<PathBuf>| {
        r.map(|_| ()).map_err(|source| PipelineError::Io {
            context: format!("writing {name}"),
            source,
        })
    };
    w(
        "coverage_gaps.json",
        files::write_json(root, "coverage_gaps.json", &after.gaps),
    )?;
    w(
        "iteration_report.json",
        files::write_json(root, "iteration_report.json", &report),
    )?;
    w(
        "summary.md",
        files::write_text(root, "summary.md", &render::summary::markdown(&report)),
    )?;
    w(
        "report.html",
        files::write_text(root, "report.html", &render::html::page(&report)),
    )?;
    files::html_coverage(project, python, &out.join(".coverage"), cancel).await;
    Ok(report)
}

fn merge_err(e: MergeError) -> PipelineError {
    PipelineError::Merge(e)
}

/// Every shard 1..N once, all of the same N.
fn complete(shards: &[Loaded]) -> Result<(), MergeError> {
    let count = shards.first().map_or(0, |s| s.info.shard.count);
    let mut seen: Vec<u32> = shards.iter().map(|s| s.info.shard.index).collect();
    seen.sort();
    let same_n = shards.iter().all(|s| s.info.shard.count == count);
    if !same_n || seen != (1..=count).collect::<Vec<_>>() {
        return Err(MergeError::Incomplete {
            found: shards
                .iter()
                .map(|s| s.info.shard.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            count,
        });
    }
    Ok(())
}

/// The shards' generated files into the project's tests/generated/; a file
/// two shards wrote differently is a conflict (they split by module, so
/// only the shared support files may repeat, identically).
fn copy_tests(project: &Project, shards: &[Loaded]) -> Result<(), MergeError> {
    let mut chosen: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    let mut manifest = Manifest::load(&project.python_root.join(GENERATED).join("_manifest.json"));
    for s in shards {
        let dir = s.dir.join(SHARD_GENERATED);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            let name = name.to_string_lossy().to_string();
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|e| MergeError::Bad {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if name == "_manifest.json" {
                manifest.merge(Manifest::load(&path).tests);
                continue;
            }
            let who = s.info.shard.to_string();
            match chosen.get(&name) {
                Some((old, a)) if *old != bytes => {
                    return Err(MergeError::Conflict {
                        file: format!("{GENERATED}/{name}"),
                        a: a.clone(),
                        b: who,
                    })
                }
                Some(_) => {}
                None => {
                    chosen.insert(name, (bytes, who));
                }
            }
        }
    }
    let gen = project.python_root.join(GENERATED);
    let bad = |e: std::io::Error| MergeError::Bad {
        path: gen.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&gen).map_err(bad)?;
    for (name, (bytes, _)) in &chosen {
        let target = gen.join(name);
        artifacts::check_inside(&project.root, &target).map_err(|message| MergeError::Bad {
            path: target.clone(),
            message,
        })?;
        artifacts::write_atomic(&target, bytes).map_err(bad)?;
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| bad(std::io::Error::other(e)))?;
    let mut json = json;
    json.push(b'\n');
    artifacts::write_atomic(&gen.join("_manifest.json"), &json).map_err(bad)?;
    Ok(())
}

/// `coverage combine` of the shards' data files, each shard's Python root
/// mapped onto this project's, then coverage.xml from the combined data.
async fn combine(
    project: &Project,
    shards: &[Loaded],
    python: &Path,
    out: &Path,
    cancel: &CancellationToken,
) -> Result<(), MergeError> {
    std::fs::create_dir_all(out).map_err(|e| MergeError::Combine(e.to_string()))?;
    let mut rc = String::from("[paths]\nsource =\n");
    rc.push_str(&format!("    {}/\n", project.python_root.display()));
    for s in shards {
        rc.push_str(&format!("    {}/\n", s.info.python_root.display()));
    }
    let rcfile = out.join("merge.coveragerc");
    std::fs::write(&rcfile, rc).map_err(|e| MergeError::Combine(e.to_string()))?;
    let data = out.join(".coverage");
    let mut combine = process::Spec::new(python, &project.python_root, Duration::from_secs(300))
        .args(["-m", "coverage", "combine", "--keep", "-q", "--rcfile"])
        .arg(&rcfile)
        .env("COVERAGE_FILE", &data);
    for s in shards {
        combine = combine.arg(s.dir.join(".coverage"));
    }
    run(&combine, cancel).await?;
    let xml = process::Spec::new(python, &project.python_root, Duration::from_secs(300))
        .args(["-m", "coverage", "xml", "-q", "-i", "--rcfile"])
        .arg(&rcfile)
        .arg("-o")
        .arg(out.join("coverage.xml"))
        .env("COVERAGE_FILE", &data);
    run(&xml, cancel).await?;
    let _ = std::fs::remove_file(&rcfile);
    Ok(())
}

async fn run(spec: &process::Spec, cancel: &CancellationToken) -> Result<(), MergeError> {
    let f = process::run(spec, cancel)
        .await
        .map_err(|e| MergeError::Combine(e.to_string()))?;
    if f.exit != process::Exit::Code(0) {
        return Err(MergeError::Combine(f.tail_text()));
    }
    Ok(())
}

/// Each test once: the user's tests ran in every shard, each generated test
/// in one.
fn union_results(shards: &[Loaded]) -> Vec<TestResult> {
    let mut by: BTreeMap<String, TestResult> = BTreeMap::new();
    for s in shards {
        for t in crate::runner::load_results(&s.dir.join("test-results.json")) {
            by.entry(t.nodeid.clone()).or_insert(t);
        }
    }
    by.into_values().collect()
}

/// The merged coverage's gaps, with the reasons the shards gave.
fn merged_gaps(after: &baseline::Baseline, shards: &[Loaded]) -> Vec<report::RemainingGap> {
    let reasons: BTreeMap<&str, &str> = shards
        .iter()
        .flat_map(|s| &s.report.remaining_gaps)
        .filter_map(|g| g.reason.as_deref().map(|r| (g.target.as_str(), r)))
        .collect();
    let mut gaps = render::remaining_gaps(after, &[]);
    for g in &mut gaps {
        if let Some(r) = reasons.get(g.target.as_str()) {
            g.reason = Some(r.to_string());
        }
    }
    gaps
}
