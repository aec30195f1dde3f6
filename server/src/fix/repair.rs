//! One failing test, start to end: classify (rules, then the model for
//! what they leave unknown), report a code bug, or try up to
//! [`MAX_ATTEMPTS`] fixes (deterministic first, then the model's, the 2nd
//! told why the 1st failed, the 3rd asked for a different approach), each
//! spliced into the function's range, parse-checked and run
//! [`crate::generate::validate::RUNS`] times on a temporary copy.

use std::path::Path;

use crate::generate::SuspectedBug;
use crate::runner::RunnerError;

use super::classify::{self, Classification, Kind};
use super::context;
use super::deterministic::{self, Facts};
use super::failure::Failure;
use super::model::{Attempt, Model, ModelError};
use super::patch::{self, Region};
use super::report::{AttemptRecord, Outcome, Record};
use super::verify::{Verdict, Verifier};

pub const MAX_ATTEMPTS: u32 = 3;

/// What handling one failure came to.
pub struct Handled {
    pub record: Record,
    /// The module's new text, when the test was fixed.
    pub new_text: Option<String>,
    pub bug: Option<SuspectedBug>,
}

pub struct Repairer<'a, M: Model> {
    pub verifier: &'a Verifier<'a>,
    pub model: Option<&'a M>,
    pub root: &'a Path,
}

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

impl<M: Model> Repairer<'_, M> {
    /// Handles `f`, whose module holds `text` now.
    pub async fn handle(
        &self,
        f: &Failure,
        text: &str,
        facts: &Facts<'_>,
        iteration: u32,
    ) -> Result<Handled, RepairError> {
        let mut c = classify::classify(f);
        let region = region_of(f, text, facts);
        if c.kind == Kind::Unknown {
            if let Some(m) = self.model {
                let src = region.as_ref().map_or("", |r| r.text(text));
                let ctx = context::model_context(f, src, facts, self.root);
                match m.classify(&ctx).await {
                    Ok(v) => {
                        c = Classification {
                            kind: v.kind,
                            by: "llm".into(),
                            reason: v.reason,
                        }
                    }
                    Err(ModelError::Cancelled) => return Err(RepairError::Cancelled),
                    Err(ModelError::Failed(e)) => {
                        c.reason = format!("{}; the model could not classify it: {e}", c.reason)
                    }
                }
            }
        }
        let mut record = Record::new(&f.nodeid, f.file.as_str(), f.error_line(), &c, iteration);
        match c.kind {
            Kind::CodeBug => {
                record.outcome = Outcome::CodeBug;
                let bug = context::suspected_bug(f, &c.reason, facts);
                return Ok(Handled {
                    record,
                    new_text: None,
                    bug,
                });
            }
            // With a model configured, its failure to decide is in the
            // reason already: not "needs a model".
            Kind::Unknown if self.model.is_some() => {
                return Ok(Handled {
                    record,
                    new_text: None,
                    bug: None,
                });
            }
            Kind::Unknown => {
                record.outcome = Outcome::NeedsModel;
                record.reason = format!(
                    "{}; no LLM is configured, so only deterministic fixes are tried",
                    c.reason
                );
                return Ok(Handled {
                    record,
                    new_text: None,
                    bug: None,
                });
            }
            Kind::TestMistake => {}
        }
        let Some(region) = region else {
            record.reason = format!("{}; the test's code was not found in {}", c.reason, f.file);
            return Ok(Handled {
                record,
                new_text: None,
                bug: None,
            });
        };
        let new_text = self
            .attempts(f, c, text, region, facts, &mut record)
            .await?;
        if let Some(new) = &new_text {
            record.outcome = Outcome::Fixed;
            record.diff = Some(diff(f.file.as_str(), text, new));
        }
        Ok(Handled {
            record,
            new_text,
            bug: None,
        })
    }

    async fn attempts(
        &self,
        f: &Failure,
        c: Classification,
        text: &str,
        region: Region,
        facts: &Facts<'_>,
        record: &mut Record,
    ) -> Result<Option<String>, RepairError> {
        // The base later attempts build on: a fix that got the test past
        // its first error (into another) is kept as the start of the next.
        let (mut base, mut region, mut failure, mut cls) = (text.to_string(), region, f.clone(), c);
        let mut previous: Option<String> = None;
        let mut model_attempts = 0;
        for number in 1..=MAX_ATTEMPTS {
            let old = region.text(&base).to_string();
            let (by, description, new_region) =
                match deterministic::fix(&failure, &cls, &region, &base, facts) {
                    Some(d) => (format!("rule:{}", cls.by), d.description, d.text),
                    None => {
                        let Some(m) = self.model else {
                            if number == 1 {
                                record.reason = format!(
                                    "{}; no deterministic fix applies and no LLM is configured",
                                    record.reason
                                );
                            }
                            break;
                        };
                        model_attempts += 1;
                        let ctx = context::model_context(&failure, &old, facts, self.root);
                        let attempt = Attempt {
                            number: model_attempts,
                            previous_failure: previous.clone(),
                            different_approach: number == MAX_ATTEMPTS,
                        };
                        match m.repair(&ctx, &attempt).await {
                            Ok(answer) => match patch::from_model(&answer, &region, &old) {
                                Ok(t) => (
                                    "llm".to_string(),
                                    "the model's rewrite of the test".to_string(),
                                    t,
                                ),
                                Err(e) => {
                                    record.attempts.push(AttemptRecord {
                                        number,
                                        by: "llm".into(),
                                        description: "the model's answer".into(),
                                        result: format!("rejected: {e}"),
                                    });
                                    previous = Some(e);
                                    continue;
                                }
                            },
                            Err(ModelError::Cancelled) => return Err(RepairError::Cancelled),
                            Err(ModelError::Failed(e)) => {
                                record.attempts.push(AttemptRecord {
                                    number,
                                    by: "llm".into(),
                                    description: "asking the model".into(),
                                    result: format!("failed: {e}"),
                                });
                                break;
                            }
                        }
                    }
                };
            let confine = by == "llm";
            let candidate = patch::splice(&base, &region, &new_region);
            if let Err(e) =
                patch::check(&base, &candidate, &f.file, f.class.as_deref(), test_name(f))
            {
                record.attempts.push(AttemptRecord {
                    number,
                    by,
                    description,
                    result: format!("rejected: {e}"),
                });
                previous = Some(e);
                continue;
            }
            let verdict = self
                .verifier
                .check(&f.file, &candidate, &test_path(f), confine)
                .await
                .map_err(|e| match e {
                    RunnerError::Cancelled => RepairError::Cancelled,
                    e => RepairError::Runner(e),
                })?;
            match verdict {
                Verdict::Passed => {
                    record.attempts.push(AttemptRecord {
                        number,
                        by,
                        description,
                        result: "passed".into(),
                    });
                    return Ok(Some(candidate));
                }
                Verdict::Failed { reason, result } => {
                    record.attempts.push(AttemptRecord {
                        number,
                        by,
                        description,
                        result: reason.clone(),
                    });
                    previous = Some(reason);
                    let next = result.and_then(|r| {
                        Failure::from_result(&r, self.root, &self.verifier.project.python_root)
                    });
                    if let Some(next) = next.filter(|n| n.error_line() != failure.error_line()) {
                        let next_cls = classify::classify(&next);
                        let next_region =
                            patch::find(&candidate, &f.file, f.class.as_deref(), &f.function);
                        if let (Kind::TestMistake | Kind::Unknown, Some(r)) =
                            (next_cls.kind, next_region)
                        {
                            base = candidate;
                            region = r;
                            failure = next;
                            cls = next_cls;
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

fn test_name(f: &Failure) -> &str {
    &f.function
}

/// `Class::name` / `name` (all parameters), or "" for a whole module.
fn test_path(f: &Failure) -> String {
    match (&f.class, f.function.is_empty()) {
        (_, true) => String::new(),
        (Some(c), false) => format!("{c}::{}", f.function),
        (None, false) => f.function.clone(),
    }
}

/// The function's range, or for a module that does not import, the
/// module-level import line the error names.
fn region_of(f: &Failure, text: &str, facts: &Facts) -> Option<Region> {
    if !f.function.is_empty() {
        return patch::find(text, &f.file, f.class.as_deref(), &f.function);
    }
    let imp = facts.file.imports.iter().find(|i| {
        !facts
            .file
            .functions
            .iter()
            .any(|d| (d.line..=d.end_line).contains(&i.line))
            && (i
                .names
                .iter()
                .any(|n| f.message.contains(&format!("'{n}'")))
                || (!i.module.is_empty() && f.message.contains(&format!("'{}'", i.module))))
    })?;
    Some(Region {
        start: imp.line,
        def_line: imp.line,
        end: imp.line,
        indent: String::new(),
    })
}

/// Unified diff of the module, 3 lines of context.
pub fn diff(file: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
}
