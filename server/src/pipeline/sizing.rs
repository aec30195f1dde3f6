//! `testgen run --plan`: how much generation this project needs and how
//! many `--shard K/N` jobs finish it within a CI job's time. Costs come
//! from the project's own last run (`.testgen/generation_costs.json`, which
//! every `testgen run` writes) or, before any run, from the figures
//! measured on networkx (docs/performance.md, "Large projects").

use serde::{Deserialize, Serialize};

use crate::generate::Target;

/// Where a run leaves its measured costs, under `.testgen/`.
pub const COSTS_FILE: &str = "generation_costs.json";

/// What one run's generation cost, measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Wall seconds per target explored and validated (all cores busy).
    pub per_target_s: f64,
    /// Wall seconds per module on top (import, harness start).
    pub per_module_s: f64,
    /// Cores of the machine it was measured on.
    pub cores: usize,
    /// Targets and modules the figures come from (0: defaults).
    pub targets: usize,
    pub modules: usize,
}

/// Before any run: networkx 3.4.2 on 2 cores, measured 2026-12-07 (docs/performance.md).
pub const DEFAULT_COSTS: Costs = Costs {
    per_target_s: 0.91,
    per_module_s: 1.5,
    cores: 2,
    targets: 0,
    modules: 0,
};

/// A job's fixed part: setup, baseline, final run and reports, seconds.
pub const JOB_OVERHEAD_S: f64 = 180.0;

impl Costs {
    /// From a run that tried `targets` in `modules` in `seconds` of
    /// generation: the module share is the default's, the rest per target.
    pub fn measured(targets: usize, modules: usize, seconds: f64, cores: usize) -> Option<Costs> {
        if targets == 0 || seconds <= 0.0 {
            return None;
        }
        let module_part = modules as f64 * DEFAULT_COSTS.per_module_s;
        let per_target_s = ((seconds - module_part) / targets as f64).max(0.05);
        Some(Costs {
            per_target_s,
            per_module_s: DEFAULT_COSTS.per_module_s,
            cores,
            targets,
            modules,
        })
    }
}

/// The estimate for one project on a runner of `cores`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sizing {
    pub modules: usize,
    pub targets: usize,
    pub cores: usize,
    pub costs: Costs,
    /// Generation of every target in one job, seconds.
    pub generation_s: f64,
}

impl Sizing {
    pub fn of(targets: &[Target], costs: Costs, cores: usize) -> Sizing {
        let mut modules: Vec<&str> = targets.iter().map(|t| t.module.as_str()).collect();
        modules.sort_unstable();
        modules.dedup();
        // Exploration and validation use every core; scale linearly from
        // the cores the costs were measured with.
        let scale = costs.cores.max(1) as f64 / cores.max(1) as f64;
        let generation_s = (targets.len() as f64 * costs.per_target_s
            + modules.len() as f64 * costs.per_module_s)
            * scale;
        Sizing {
            modules: modules.len(),
            targets: targets.len(),
            cores,
            costs,
            generation_s,
        }
    }

    /// Shards needed so that each job's generation fits `job_minutes`
    /// (its fixed part taken off).
    pub fn shards_for(&self, job_minutes: f64) -> u32 {
        let usable = (job_minutes * 60.0 - JOB_OVERHEAD_S).max(60.0);
        (self.generation_s / usable).ceil().max(1.0) as u32
    }

    /// Shards needed so that the default generation limit (600 s) is not
    /// cut short in any of them.
    pub fn shards_within(&self, limit_s: f64) -> u32 {
        (self.generation_s / limit_s.max(1.0)).ceil().max(1.0) as u32
    }

    /// The plan in words, for a terminal or a CI log.
    pub fn render(&self, limit_s: f64) -> String {
        let source = if self.costs.targets == 0 {
            "defaults measured on networkx (no run of this project yet)".to_string()
        } else {
            format!(
                "this project's last run ({} targets in {} modules)",
                self.costs.targets, self.costs.modules
            )
        };
        let mut s = format!(
            "{} functions to generate for, in {} modules.\n\
             Cost: {:.2} s per function + {:.1} s per module on {} cores, from {source}.\n\
             One job of {} cores: about {} of generation.\n",
            self.targets,
            self.modules,
            self.costs.per_target_s,
            self.costs.per_module_s,
            self.costs.cores,
            self.cores,
            minutes(self.generation_s),
        );
        s.push_str(&format!(
            "With the generation limit of {}: {} shard{} (`--shard K/N`, then `testgen merge`).\n",
            minutes(limit_s),
            self.shards_within(limit_s),
            if self.shards_within(limit_s) == 1 {
                ""
            } else {
                "s"
            }
        ));
        for job in [30.0, 60.0, 360.0] {
            s.push_str(&format!(
                "To finish within {} per job: {} shard{} (generation limit {} each).\n",
                minutes(job * 60.0),
                self.shards_for(job),
                if self.shards_for(job) == 1 { "" } else { "s" },
                minutes(job * 60.0 - JOB_OVERHEAD_S)
            ));
        }
        s
    }
}

fn minutes(s: f64) -> String {
    if s < 90.0 {
        format!("{:.0} s", s)
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::targets::TargetKind;
    use crate::index::model::RelPath;

    fn targets(modules: usize, per: usize) -> Vec<Target> {
        let mut out = Vec::new();
        for m in 0..modules {
            for f in 0..per {
                out.push(Target {
                    path: RelPath::new(format!("m{m}.py")),
                    abs: "/p".into(),
                    module: format!("m{m}"),
                    qualname: format!("f{f}"),
                    kind: TargetKind::Function,
                    line: 1,
                    end_line: 2,
                    missing_lines: vec![2],
                    framework: None,
                });
            }
        }
        out
    }

    #[test]
    fn shards_grow_with_the_work_and_shrink_with_cores() {
        let costs = Costs {
            per_target_s: 2.0,
            per_module_s: 1.0,
            cores: 2,
            targets: 10,
            modules: 2,
        };
        let s = Sizing::of(&targets(300, 7), costs, 2);
        assert_eq!(s.modules, 300);
        assert_eq!(s.generation_s, 300.0 * 7.0 * 2.0 + 300.0);
        assert_eq!(s.shards_within(600.0), 8); // 4,500 s / 600 s
        assert_eq!(s.shards_for(60.0), 2); // 4,500 s / 3,420 s
        let four = Sizing::of(&targets(300, 7), costs, 4);
        assert!(four.generation_s < s.generation_s);
        assert!(Sizing::of(&targets(1, 1), costs, 2).shards_for(30.0) == 1);
        assert!(s.render(600.0).contains("8 shards"));
    }

    #[test]
    fn measured_costs_take_the_module_share_off() {
        let c = Costs::measured(100, 10, 215.0, 2).unwrap();
        assert!((c.per_target_s - 2.0).abs() < 1e-9);
        assert_eq!(Costs::measured(0, 0, 10.0, 2), None);
    }
}
