//! The gap-focused loop of `testgen run`: rounds of `generate::run` until
//! the target is reached, a round gains nothing, the rounds run out or the
//! time limit does. The limit stops the generation softly: what it
//! validated before is written and counted, and the round says the limit
//! cut it. While a round runs, a progress event goes out after each batch
//! and at least every [`HEARTBEAT`] (a CI log shows the run is alive).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{report, round2, Event, Options, PipelineError, Stop};
use crate::generate::{self, progress, AnyEngine, Filter, NotTargeted};
use crate::workspace::Project;

/// The gap-focused loop's state.
pub(super) struct Rounds {
    pub(super) coverage: f64,
    pub(super) rounds: Vec<report::Round>,
    pub(super) skipped: Vec<Vec<NotTargeted>>,
    pub(super) bugs: Vec<generate::SuspectedBug>,
    pub(super) stop: Option<Stop>,
    pub(super) capped: Vec<String>,
    /// The project coverage that ends the loop (`None` in pull-request
    /// mode: its gate is the changed lines', measured after the loop).
    pub(super) target: Option<f64>,
    /// Targets tried, their modules, generation seconds, over all rounds.
    work: (usize, usize, f64),
}

impl Rounds {
    pub(super) fn new(coverage: f64) -> Rounds {
        Rounds {
            coverage,
            rounds: Vec::new(),
            skipped: Vec::new(),
            bugs: Vec::new(),
            stop: None,
            capped: Vec::new(),
            target: None,
            work: (0, 0, 0.0),
        }
    }

    /// What generation cost per target on this machine, for `--plan`.
    pub(super) fn costs(&self) -> Option<super::sizing::Costs> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (targets, modules, seconds) = self.work;
        super::sizing::Costs::measured(targets, modules, seconds, cores)
    }

    /// Adds a round's tried targets and time to [`Rounds::costs`].
    fn count_work(&mut self, gen: &generate::Report) {
        let not_tried: std::collections::BTreeSet<&str> = gen
            .skipped
            .iter()
            .filter(|s| report::is_not_tried(&s.reason))
            .map(|s| s.target.as_str())
            .collect();
        let tried: Vec<&str> = gen
            .targets
            .iter()
            .map(String::as_str)
            .filter(|t| !not_tried.contains(t))
            .collect();
        let mut files: Vec<&str> = tried
            .iter()
            .map(|t| t.split("::").next().unwrap_or(t))
            .collect();
        files.sort_unstable();
        files.dedup();
        self.work.0 += tried.len();
        self.work.1 += files.len();
        self.work.2 += gen.duration_s;
    }

    pub(super) async fn run(
        &mut self,
        project: &Project,
        opts: &Options,
        engine: &AnyEngine,
        filter: Filter,
        events: &(dyn Fn(Event) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<(), PipelineError> {
        let deadline = cancel.child_token();
        let ends = Instant::now() + opts.generation_timeout;
        let timer = {
            let d = deadline.clone();
            let limit = opts.generation_timeout;
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                d.cancel();
            })
        };
        let result = self
            .each_round(
                project,
                opts,
                engine,
                &filter,
                events,
                (&deadline, ends),
                cancel,
            )
            .await;
        timer.abort();
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn each_round(
        &mut self,
        project: &Project,
        opts: &Options,
        engine: &AnyEngine,
        filter: &Filter,
        events: &(dyn Fn(Event) + Send + Sync),
        (deadline, ends): (&CancellationToken, Instant),
        cancel: &CancellationToken,
    ) -> Result<(), PipelineError> {
        let nothing = match filter {
            Filter::Files(f) => f.is_empty(),
            Filter::Changed(f) => f.is_empty(),
            _ => false,
        };
        if nothing {
            self.stop = Some(Stop::NothingToTarget);
            return Ok(());
        }
        for round in 1..=opts.iterations {
            events(Event::Round {
                round,
                of: opts.iterations,
                coverage: self.coverage,
            });
            let started = Instant::now();
            let req = generate::Request {
                python: opts.python.clone(),
                filter: filter.clone(),
                limits: opts.limits.clone(),
                // The previous full run (the baseline's, or the last
                // round's re-measure) left a fresh coverage.xml.
                baseline: generate::BaselineSource::Existing,
                suite_timeout: opts.suite_timeout,
                pytest_args: opts.pytest_args.clone(),
                anytime: generate::progress::Anytime::default(),
            };
            let outcome = with_heartbeat(round, req, events, (deadline, ends), |req| async move {
                generate::run(project, &req, engine, cancel).await
            })
            .await;
            let gen = match outcome {
                Ok(r) => r,
                Err(generate::GenerateError::Cancelled) if !cancel.is_cancelled() => {
                    self.finish_round(
                        round,
                        started,
                        None,
                        Some(Stop::TimeLimit { round }),
                        events,
                    );
                    return Ok(());
                }
                Err(generate::GenerateError::Cancelled) => return Err(PipelineError::Cancelled),
                Err(e) => return Err(e.into()),
            };
            self.count_work(&gen);
            self.capped.extend(gen.capped.iter().cloned());
            // A later round explores a target again and meets the same bug.
            for bug in &gen.suspected_bugs {
                if !self.bugs.contains(bug) {
                    self.bugs.push(bug.clone());
                }
            }
            self.skipped.push(gen.skipped.clone());
            let stop = self.decide(round, &gen);
            self.finish_round(round, started, Some(&gen), stop, events);
            if self.stop.is_some() {
                return Ok(());
            }
        }
        self.stop = Some(Stop::LastRound {
            round: opts.iterations,
        });
        Ok(())
    }

    fn decide(&self, round: u32, gen: &generate::Report) -> Option<Stop> {
        let after = gen
            .coverage_after
            .as_ref()
            .map_or(self.coverage, |c| c.line_percent);
        if gen.targets.is_empty() {
            Some(Stop::NothingToTarget)
        } else if self.target.is_some_and(|t| after >= t) {
            Some(Stop::TargetReached { round })
        } else if gen.interrupted.is_some() {
            Some(Stop::TimeLimit { round })
        } else if gen.tests_written == 0 || after <= self.coverage {
            Some(Stop::NoGain { round })
        } else {
            None
        }
    }

    fn finish_round(
        &mut self,
        round: u32,
        started: Instant,
        gen: Option<&generate::Report>,
        stop: Option<Stop>,
        events: &(dyn Fn(Event) + Send + Sync),
    ) {
        let before = self.coverage;
        let after = gen
            .and_then(|g| g.coverage_after.as_ref())
            .map_or(before, |c| c.line_percent);
        let r = report::Round {
            round,
            shard: None,
            coverage_before: before,
            coverage_after: after,
            gain: round2(after - before),
            targets: gen.map_or(0, |g| g.targets.len()),
            tests_written: gen.map_or(0, |g| g.tests_written),
            tests_dropped: gen.map_or(0, |g| g.dropped.len()),
            skipped: gen.map_or(0, |g| g.skipped.len()),
            duration_s: started.elapsed().as_secs_f64(),
            llm_calls: gen
                .and_then(|g| g.llm.as_ref())
                .map_or(0, |u| u64::from(u.calls)),
            llm_tokens: gen
                .and_then(|g| g.llm.as_ref())
                .map_or(0, |u| u.prompt_tokens + u.completion_tokens),
            note: stop
                .map(|s| s.describe(0.0))
                .filter(|_| !matches!(stop, Some(Stop::TargetReached { .. }))),
        };
        self.coverage = after;
        events(Event::RoundDone(r.clone()));
        self.rounds.push(r);
        if stop.is_some() {
            self.stop = stop;
        }
    }
}

/// How often a progress line goes out while a round runs, at the least.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// The heartbeat's period: [`HEARTBEAT`], or `TESTGEN_PROGRESS_INTERVAL_S`
/// (tests that cannot wait 30 s for the second line).
fn heartbeat() -> Duration {
    std::env::var("TESTGEN_PROGRESS_INTERVAL_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= HEARTBEAT.as_secs_f64())
        .map_or(HEARTBEAT, Duration::from_secs_f64)
}

/// Runs one round's generation with `deadline` as its soft stop, sending a
/// progress event after each batch and at least every [`heartbeat`].
async fn with_heartbeat<F, Fut>(
    round: u32,
    mut req: generate::Request,
    events: &(dyn Fn(Event) + Send + Sync),
    (deadline, ends): (&CancellationToken, Instant),
    run: F,
) -> Result<generate::Report, generate::GenerateError>
where
    F: FnOnce(generate::Request) -> Fut,
    Fut: std::future::Future<Output = Result<generate::Report, generate::GenerateError>>,
{
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<progress::Tally>();
    req.anytime = progress::Anytime {
        stop: Some(deadline.clone()),
        progress: Some(progress::Sink::new(move |t| {
            let _ = tx.send(t.clone());
        })),
    };
    let time_left = || ends.saturating_duration_since(Instant::now());
    let mut latest = progress::Tally::default();
    let fut = run(req);
    tokio::pin!(fut);
    let period = heartbeat();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            r = &mut fut => return r,
            Some(t) = rx.recv() => {
                latest = t;
                tick.reset();
                events(Event::Progress(report::Progress::of(round, &latest, time_left())));
            }
            _ = tick.tick() => {
                latest.elapsed_s = started.elapsed().as_secs_f64();
                events(Event::Progress(report::Progress::of(round, &latest, time_left())));
            }
        }
    }
}
