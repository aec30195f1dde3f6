//! The order work is done in, and the units it is kept in: targets grouped
//! by module (a test file belongs to one module, and a module's import is
//! paid once), modules ordered by what they promise per unit of work, and
//! consecutive modules packed into small batches. Each batch is explored,
//! validated and kept before the next one starts, so a run cut short at
//! any point keeps what it finished and has spent its time where it pays.
//!
//! The order depends only on the targets (never on timings), so the same
//! project gives the same batches on any machine.

use std::collections::BTreeMap;

use super::targets::Target;

/// A batch closes once it holds this many targets...
pub const BATCH_TARGETS: usize = 16;
/// ...or this many modules (each costs a harness start and an import).
pub const BATCH_MODULES: usize = 6;
/// What importing a module costs, in targets' worth of work: a module with
/// one small gap goes after one with many in a single import.
const IMPORT_COST: f64 = 2.0;

/// Consecutive whole modules, explored and validated together.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Dotted module names, in order.
    pub modules: Vec<String>,
    /// Their targets, module by module, each module's in the given order.
    pub targets: Vec<Target>,
}

/// Groups `targets` (in their chosen order) into batches of whole modules,
/// the modules ordered by missing lines per unit of expected work.
pub fn split(targets: Vec<Target>) -> Vec<Batch> {
    let mut by_module: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in targets.into_iter().enumerate() {
        first_seen.entry(t.module.clone()).or_insert(i);
        by_module.entry(t.module.clone()).or_default().push(t);
    }
    let mut modules: Vec<(String, Vec<Target>)> = by_module.into_iter().collect();
    modules.sort_by(|(a, ta), (b, tb)| {
        value(tb)
            .total_cmp(&value(ta))
            .then_with(|| first_seen[a].cmp(&first_seen[b]))
    });
    let mut out: Vec<Batch> = Vec::new();
    let mut current = Batch {
        modules: Vec::new(),
        targets: Vec::new(),
    };
    for (module, ts) in modules {
        current.modules.push(module);
        current.targets.extend(ts);
        if current.targets.len() >= BATCH_TARGETS || current.modules.len() >= BATCH_MODULES {
            out.push(std::mem::replace(
                &mut current,
                Batch {
                    modules: Vec::new(),
                    targets: Vec::new(),
                },
            ));
        }
    }
    if !current.modules.is_empty() {
        out.push(current);
    }
    out
}

/// Missing lines a module's targets may gain per unit of work (one target
/// explored is one unit; the import costs [`IMPORT_COST`]).
fn value(targets: &[Target]) -> f64 {
    let gain: usize = targets.iter().map(|t| t.missing_lines.len()).sum();
    gain as f64 / (targets.len() as f64 + IMPORT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::targets::TargetKind;
    use crate::index::model::RelPath;

    fn target(module: &str, name: &str, missing: u32) -> Target {
        Target {
            path: RelPath::new(format!("{}.py", module.replace('.', "/"))),
            abs: std::path::PathBuf::from("/p"),
            module: module.into(),
            qualname: name.into(),
            kind: TargetKind::Function,
            line: 1,
            end_line: 1 + missing,
            missing_lines: (2..2 + missing).collect(),
            framework: None,
        }
    }

    fn names(b: &Batch) -> Vec<String> {
        b.targets
            .iter()
            .map(|t| format!("{}.{}", t.module, t.qualname))
            .collect()
    }

    #[test]
    fn modules_stay_whole_and_go_by_gain_per_unit_of_work() {
        let batches = split(vec![
            target("big", "a", 40),
            target("small", "x", 3),
            target("many", "m1", 10),
            target("many", "m2", 10),
            target("many", "m3", 10),
            target("big", "b", 2),
        ]);
        assert_eq!(batches.len(), 1, "few targets fit one batch");
        // big: 42 lines / 4 units; many: 30 / 5; small: 3 / 3.
        assert_eq!(batches[0].modules, ["big", "many", "small"]);
        assert_eq!(
            names(&batches[0]),
            ["big.a", "big.b", "many.m1", "many.m2", "many.m3", "small.x"]
        );
    }

    #[test]
    fn batches_close_at_their_size_without_splitting_a_module() {
        let mut ts = Vec::new();
        for m in 0..10 {
            for f in 0..3 {
                ts.push(target(&format!("m{m:02}"), &format!("f{f}"), 5));
            }
        }
        let batches = split(ts.clone());
        // 6 modules (18 targets) close the first batch; 4 are left.
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].modules.len(), BATCH_MODULES);
        assert_eq!(batches[1].modules.len(), 4);
        let all: usize = batches.iter().map(|b| b.targets.len()).sum();
        assert_eq!(all, 30);
        // Ties keep the order the targets came in: deterministic.
        assert_eq!(batches[0].modules[0], "m00");
        let again: Vec<Vec<String>> = split(ts).iter().map(names).collect();
        assert_eq!(again, batches.iter().map(names).collect::<Vec<_>>());
    }
}
