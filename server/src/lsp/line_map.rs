//! Coverage and test results describe the file as it was when they were
//! measured (the anchor text); the buffer has moved on since. A line map,
//! from a line diff of anchor and buffer, says where each anchor line is
//! now, or that it was changed (then what was measured there no longer
//! describes the buffer and is withdrawn). Never a diagnostic on the wrong line.

use similar::{Algorithm, DiffOp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMap {
    /// `map[i]` = 0-based buffer line of 0-based anchor line `i`, if unchanged.
    map: Vec<Option<u32>>,
}

impl LineMap {
    /// The identity map (buffer equals anchor).
    pub fn identity(lines: u32) -> LineMap {
        LineMap {
            map: (0..lines).map(Some).collect(),
        }
    }

    pub fn between(anchor: &str, buffer: &str) -> LineMap {
        if anchor == buffer {
            return LineMap::identity(anchor.lines().count() as u32);
        }
        let old: Vec<&str> = anchor.lines().collect();
        let new: Vec<&str> = buffer.lines().collect();
        let mut map = vec![None; old.len()];
        // Myers with a deadline: a pathological diff degrades to "changed",
        // which withdraws items instead of stalling the server.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(50);
        let ops =
            similar::capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline));
        for op in ops {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                for k in 0..len {
                    map[old_index + k] = Some((new_index + k) as u32);
                }
            }
        }
        LineMap { map }
    }

    /// The buffer line (1-based) of an anchor line (1-based), None if changed.
    pub fn line(&self, anchor_line: u32) -> Option<u32> {
        let i = anchor_line.checked_sub(1)? as usize;
        self.map.get(i).copied().flatten().map(|l| l + 1)
    }

    /// The anchor line (1-based) a buffer line (1-based) came from, None
    /// when the buffer line is new or changed.
    pub fn anchor_of(&self, buffer_line: u32) -> Option<u32> {
        let b = buffer_line.checked_sub(1)?;
        self.map
            .iter()
            .position(|m| *m == Some(b))
            .map(|i| i as u32 + 1)
    }

    /// Whether every anchor line of `first..=last` (1-based) is unchanged.
    pub fn unchanged(&self, first: u32, last: u32) -> bool {
        (first..=last).all(|l| self.line(l).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_move_with_inserts_and_changed_lines_vanish() {
        let anchor = "a\nb\nc\nd\n";
        let buffer = "new\na\nB\nc\nd\n";
        let m = LineMap::between(anchor, buffer);
        assert_eq!(m.line(1), Some(2));
        assert_eq!(m.line(2), None, "b was changed");
        assert_eq!(m.line(3), Some(4));
        assert_eq!(m.line(4), Some(5));
        assert_eq!(m.line(5), None, "past the end");
        assert!(m.unchanged(3, 4));
        assert!(!m.unchanged(1, 3));
    }

    #[test]
    fn deletions_shift_up() {
        let m = LineMap::between("a\nb\nc\n", "a\nc\n");
        assert_eq!(m.line(1), Some(1));
        assert_eq!(m.line(2), None);
        assert_eq!(m.line(3), Some(2));
    }

    #[test]
    fn identity() {
        let m = LineMap::between("x\ny", "x\ny");
        assert_eq!(m.line(2), Some(2));
        assert_eq!(m, LineMap::identity(2));
    }

    #[test]
    fn a_mapped_line_always_has_the_same_text() {
        // Property over pseudo-random edits: whatever the diff, a mapped
        // line's text equals the anchor's (so no item lands on a wrong line).
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let anchor: Vec<String> = (0..30).map(|i| format!("l{}", i % 7)).collect();
            let mut buf = anchor.clone();
            for _ in 0..5 {
                let at = (next() % (buf.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 => buf.insert(at, format!("n{}", next() % 5)),
                    1 if at < buf.len() => {
                        buf.remove(at);
                    }
                    _ if at < buf.len() => buf[at] = format!("c{}", next() % 5),
                    _ => {}
                }
            }
            let (a, b) = (anchor.join("\n"), buf.join("\n"));
            let m = LineMap::between(&a, &b);
            for (i, line) in anchor.iter().enumerate() {
                if let Some(n) = m.line(i as u32 + 1) {
                    assert_eq!(&buf[n as usize - 1], line);
                }
            }
        }
    }
}
