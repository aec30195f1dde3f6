//! What a generation has done so far, told after each batch: the counts a
//! CI log line, the terminal's live line and the editor's progress show.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Counts of one generation so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub modules_done: usize,
    pub modules_total: usize,
    /// Targets explored (kept or not), of `targets_total`.
    pub targets_tried: usize,
    pub targets_total: usize,
    pub tests_kept: usize,
    /// Line coverage with the kept tests, estimated from the lines the
    /// engine saw them reach (the final run measures it).
    pub coverage: f64,
    pub elapsed_s: f64,
}

impl Tally {
    /// Seconds left at the pace so far; None before the first batch.
    pub fn eta_s(&self) -> Option<f64> {
        (self.targets_tried > 0 && self.targets_total >= self.targets_tried).then(|| {
            let per = self.elapsed_s / self.targets_tried as f64;
            per * (self.targets_total - self.targets_tried) as f64
        })
    }

    /// Share of the targets tried, 0..=100 (the editor's percentage).
    pub fn percent(&self) -> u32 {
        if self.targets_total == 0 {
            return 100;
        }
        ((self.targets_tried * 100) / self.targets_total).min(100) as u32
    }
}

/// Where tallies go (the pipeline's events, the editor's progress).
#[derive(Clone)]
pub struct Sink(Arc<dyn Fn(&Tally) + Send + Sync>);

impl Sink {
    pub fn new(f: impl Fn(&Tally) + Send + Sync + 'static) -> Sink {
        Sink(Arc::new(f))
    }

    pub fn send(&self, t: &Tally) {
        (self.0)(t)
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

/// How a generation may be cut short and keep what it finished.
#[derive(Debug, Clone, Default)]
pub struct Anytime {
    /// Fired when the time limit (or a cap) says stop: the batch in flight
    /// is abandoned, everything validated before it is kept and written.
    /// Unlike the `cancel` of `plan`, which abandons everything.
    pub stop: Option<CancellationToken>,
    pub progress: Option<Sink>,
}

/// A token fired by either `cancel` or `stop`: the work of one batch.
pub(super) fn either(
    cancel: &CancellationToken,
    stop: Option<&CancellationToken>,
) -> CancellationToken {
    let work = cancel.child_token();
    if let Some(stop) = stop.cloned() {
        let w = work.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => w.cancel(),
                _ = w.cancelled() => {}
            }
        });
    }
    work
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_follows_the_pace_so_far() {
        let t = Tally {
            targets_tried: 10,
            targets_total: 40,
            elapsed_s: 20.0,
            ..Tally::default()
        };
        assert_eq!(t.eta_s(), Some(60.0));
        assert_eq!(t.percent(), 25);
        assert_eq!(Tally::default().eta_s(), None);
    }

    #[tokio::test]
    async fn either_token_fires_on_stop_and_on_cancel() {
        let cancel = CancellationToken::new();
        let stop = CancellationToken::new();
        let work = either(&cancel, Some(&stop));
        assert!(!work.is_cancelled());
        stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(2), work.cancelled())
            .await
            .expect("stop fires the work token");
        assert!(!cancel.is_cancelled());
        let cancel = CancellationToken::new();
        let work = either(&cancel, Some(&CancellationToken::new()));
        cancel.cancel();
        assert!(work.is_cancelled());
    }
}
