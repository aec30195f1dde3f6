//! Byte offset -> 1-based line (and column) in O(log n), from a line-start
//! table built once per file: the extractor asks for thousands of lines per file.

use ruff_text_size::TextSize;

pub struct Lines {
    /// Byte offset where each line starts; `starts[0] == 0`.
    starts: Vec<u32>,
}

impl Lines {
    pub fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i as u32 + 1),
                // A lone '\r' ends a line too, as Python's tokenizer counts it.
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i as u32 + 1),
                _ => {}
            }
            i += 1;
        }
        Lines { starts }
    }

    /// Number of lines, counting a last line without a newline; 0 for an empty file.
    pub fn count(&self) -> u32 {
        self.starts.len() as u32
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: TextSize) -> u32 {
        let off = u32::from(offset);
        self.starts.partition_point(|&s| s <= off) as u32
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, source: &str, offset: TextSize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1] as usize;
        let end = (u32::from(offset) as usize).min(source.len());
        let col = source
            .get(start..end)
            .map_or(end.saturating_sub(start), |s| s.chars().count());
        (line, col as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let src = "a\nbé c\r\nd\re";
        let l = Lines::new(src);
        assert_eq!(l.count(), 4);
        assert_eq!(l.line(TextSize::from(0)), 1);
        assert_eq!(l.line(TextSize::from(2)), 2);
        // 'c' is after a two-byte 'é': column counts characters.
        let c = src.find('c').unwrap() as u32;
        assert_eq!(l.line_col(src, TextSize::from(c)), (2, 4));
        assert_eq!(l.line(TextSize::from(src.find('e').unwrap() as u32)), 4);
    }
}
