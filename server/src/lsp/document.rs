//! An open document: its text, version, and conversion between LSP positions
//! (in the negotiated encoding: UTF-8, UTF-16 or UTF-32 code units) and byte
//! offsets. Incremental changes are applied here.

use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    /// LSP's default.
    #[default]
    Utf16,
    Utf32,
}

impl Encoding {
    /// The client's preference among what we support: UTF-8 is cheapest
    /// (positions are byte offsets), UTF-16 the default every client has.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or(&[]);
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32)
            && !offered.contains(&PositionEncodingKind::UTF16)
        {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Document {
    pub version: i32,
    text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("edit range {0:?} lies outside the document")]
    OutOfRange(Range),
}

impl Document {
    pub fn new(text: String, version: i32) -> Document {
        let line_starts = line_starts(&text);
        Document {
            version,
            text,
            line_starts,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    /// The text of a 0-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let start = *self.line_starts.get(line as usize)?;
        let end = self
            .line_starts
            .get(line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }

    /// Replaces `range` (None: the whole text) with `new`.
    pub fn apply(
        &mut self,
        range: Option<Range>,
        new: &str,
        enc: Encoding,
    ) -> Result<(), EditError> {
        match range {
            None => self.text = new.to_string(),
            Some(r) => {
                let start = self.offset(r.start, enc).ok_or(EditError::OutOfRange(r))?;
                let end = self.offset(r.end, enc).ok_or(EditError::OutOfRange(r))?;
                if start > end {
                    return Err(EditError::OutOfRange(r));
                }
                self.text.replace_range(start..end, new);
            }
        }
        self.line_starts = line_starts(&self.text);
        Ok(())
    }

    /// Byte offset of a position. A character past the end of its line
    /// clamps to the line end, as the protocol asks; a line past the end
    /// of the document is only valid as the position right after it.
    pub fn offset(&self, p: Position, enc: Encoding) -> Option<usize> {
        let Some(&start) = self.line_starts.get(p.line as usize) else {
            return (p.line as usize == self.line_starts.len() && p.character == 0)
                .then_some(self.text.len());
        };
        let line = self.line(p.line).unwrap_or("");
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= p.character as usize {
                return Some(start + i);
            }
            units += enc.units(c);
        }
        Some(start + line.len())
    }

    /// The position of a byte column on a 0-based line of `line_text`.
    pub fn column(line_text: &str, byte_col: usize, enc: Encoding) -> u32 {
        let col = byte_col.min(line_text.len());
        match enc {
            Encoding::Utf8 => col as u32,
            _ => line_text[..col].chars().map(|c| enc.units(c) as u32).sum(),
        }
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    // A final newline does not start another line worth addressing, but LSP
    // allows a position on it; keep it so offsets of the end are valid.
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn incremental_edits_in_utf16_with_non_ascii() {
        let mut d = Document::new("a = 'é😀x'\nb = 2\n".into(), 1);
        // 'x' is after é (1 unit) and 😀 (2 units): column 5+1+2 = 8.
        let r = Range {
            start: pos(0, 8),
            end: pos(0, 9),
        };
        d.apply(Some(r), "y", Encoding::Utf16).unwrap();
        assert_eq!(d.line(0), Some("a = 'é😀y'"));
        d.apply(
            Some(Range {
                start: pos(1, 0),
                end: pos(2, 0),
            }),
            "",
            Encoding::Utf16,
        )
        .unwrap();
        assert_eq!(d.text(), "a = 'é😀y'\n");
    }

    #[test]
    fn utf8_and_utf32_columns() {
        let d = Document::new("'é😀x'\n".into(), 1);
        assert_eq!(d.offset(pos(0, 7), Encoding::Utf8), Some(7));
        assert_eq!(d.offset(pos(0, 3), Encoding::Utf32), Some(7));
        assert_eq!(Document::column("'é😀x'", 7, Encoding::Utf16), 4);
        assert_eq!(Document::column("'é😀x'", 7, Encoding::Utf32), 3);
    }

    #[test]
    fn out_of_range_edits_are_rejected_not_applied() {
        let mut d = Document::new("x\n".into(), 1);
        let r = Range {
            start: pos(5, 0),
            end: pos(6, 0),
        };
        assert!(d.apply(Some(r), "y", Encoding::Utf16).is_err());
        assert_eq!(d.text(), "x\n");
        // Past the end of a line clamps.
        assert_eq!(d.offset(pos(0, 99), Encoding::Utf16), Some(1));
    }

    #[test]
    fn negotiation_prefers_utf8() {
        use PositionEncodingKind as K;
        assert_eq!(
            Encoding::negotiate(Some(&[K::UTF16, K::UTF8])),
            Encoding::Utf8
        );
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(Some(&[K::UTF32])), Encoding::Utf32);
    }
}
