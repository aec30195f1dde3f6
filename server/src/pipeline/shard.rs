//! `--shard K/N`: a deterministic 1/N of the work for one job of a CI
//! matrix. The unit is a source file: every test of a module goes to one
//! generated file, so shards never write the same file and their results
//! merge without conflicts. Files are dealt largest first (missing
//! statements, then path) to the shard with the least so far: balanced, and
//! the same split on every run of the same baseline.

use serde::{Deserialize, Serialize};

use crate::coverage::gaps::GapReport;
use crate::index::model::RelPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's files among those with gaps.
    pub fn files(&self, gaps: &GapReport) -> Vec<RelPath> {
        let files = gaps
            .files_with_gaps
            .iter()
            .filter(|(p, _)| {
                !crate::workspace::is_test_file(p) && !crate::generate::targets::is_generated(p)
            })
            .map(|(p, g)| (p.clone(), g.missing_lines.len()))
            .collect();
        deal(files, self.count).swap_remove(self.index as usize - 1)
    }
}

/// Deals `files` (path, missing statements) to `count` shards.
fn deal(mut files: Vec<(RelPath, usize)>, count: u32) -> Vec<Vec<RelPath>> {
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut load = vec![0usize; count as usize];
    let mut out = vec![Vec::new(); count as usize];
    for (path, missing) in files {
        // Least loaded, lowest index on ties: deterministic.
        let slot = (0..load.len())
            .min_by_key(|&i| (load[i], i))
            .expect("count >= 1");
        load[slot] += missing.max(1);
        out[slot].push(path);
    }
    for s in &mut out {
        s.sort();
    }
    out
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            let e = Shard::parse(bad).unwrap_err();
            assert!(e.contains("expected K/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn deals_every_file_once_balanced_and_stable() {
        let files: Vec<(RelPath, usize)> = [
            ("a.py", 40),
            ("b.py", 30),
            ("c.py", 20),
            ("d.py", 10),
            ("e.py", 10),
        ]
        .iter()
        .map(|(p, n)| (RelPath::new(p), *n))
        .collect();
        let mut shuffled = files.clone();
        shuffled.reverse();
        let dealt = deal(files.clone(), 2);
        assert_eq!(dealt, deal(shuffled, 2), "input order does not matter");
        let all: Vec<&RelPath> = dealt.iter().flatten().collect();
        assert_eq!(all.len(), 5);
        let load = |s: &Vec<RelPath>| -> usize {
            s.iter()
                .map(|p| files.iter().find(|f| &f.0 == p).unwrap().1)
                .sum()
        };
        assert_eq!((load(&dealt[0]), load(&dealt[1])), (60, 50));
        assert_eq!(deal(files, 1)[0].len(), 5);
    }
}
