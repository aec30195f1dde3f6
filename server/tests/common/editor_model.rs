//! What the test client holds as an editor would: the open documents (text,
//! version, unsaved or not) and how it applies the server's
//! `workspace/applyEdit`. It applies the operations exactly as sent, with
//! the rules of the real editors the project supports, taking the stricter
//! one where they differ, so an edit that works here works in Neovim 0.11
//! and in VS Code:
//!
//! - `CreateFile`: `overwrite` creates or truncates the file (and its
//!   directory). `ignoreIfExists` without `overwrite` does nothing at all,
//!   even when the file is missing: Neovim 0.11 does that
//!   (`runtime/lua/vim/lsp/util.lua`, `create_file`), although the LSP
//!   specification would create a missing file. Neither option: an existing
//!   file fails the edit (VS Code; Neovim would truncate it), a missing one
//!   is created empty with its directory (both editors).
//! - `TextDocumentEdit` of an open document: its version must match (VS
//!   Code refuses a stale edit), the ranges apply to the buffer's text, and
//!   the buffer becomes unsaved.
//! - `TextDocumentEdit` of a file that is not open: the editor loads it into
//!   a buffer (a missing file gives an empty buffer, as Neovim's `bufadd`
//!   does), tells the server (`didOpen`, then `didChange`), applies the
//!   ranges and leaves the buffer unsaved. Neither editor writes the
//!   result to disk: Neovim keeps it in a buffer, VS Code opens it as a
//!   dirty editor (microsoft/vscode#66673). Only a save writes it, and a
//!   save fails when the file's directory does not exist (Neovim's E212).
//! - Renames and deletes are refused: the server never sends them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    pub version: i64,
    /// Changed since it was opened or last saved.
    pub unsaved: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Editor {
    /// Open documents by URI.
    pub docs: BTreeMap<String, Doc>,
}

/// A notification the editor sends to the server: (method, params).
pub type Note = (String, Value);

impl Editor {
    /// Mirrors a document notification the test sends, so the model always
    /// holds what the server was told.
    pub fn observe(&mut self, method: &str, params: &Value) {
        let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
        let version = params["textDocument"]["version"].as_i64().unwrap_or(0);
        match method {
            "textDocument/didOpen" => {
                let text = params["textDocument"]["text"].as_str().unwrap_or_default();
                self.docs.insert(
                    uri.to_string(),
                    Doc {
                        text: text.to_string(),
                        version,
                        unsaved: false,
                    },
                );
            }
            "textDocument/didChange" => {
                if let Some(doc) = self.docs.get_mut(uri) {
                    for change in params["contentChanges"].as_array().into_iter().flatten() {
                        let text = change["text"].as_str().unwrap_or_default();
                        match change.get("range") {
                            Some(r) => doc.text = apply_one(&doc.text, r, text),
                            None => doc.text = text.to_string(),
                        }
                    }
                    doc.version = version;
                    doc.unsaved = true;
                }
            }
            "textDocument/didSave" => {
                if let Some(doc) = self.docs.get_mut(uri) {
                    doc.unsaved = false;
                }
            }
            "textDocument/didClose" => {
                self.docs.remove(uri);
            }
            _ => {}
        }
    }

    /// Applies a `WorkspaceEdit`: the notifications to send to the server,
    /// or why the edit was refused (nothing changed in the model then).
    pub fn apply(&mut self, edit: &Value) -> Result<Vec<Note>, String> {
        let mut next = self.clone();
        let mut notes = Vec::new();
        if let Some(ops) = edit["documentChanges"].as_array() {
            for op in ops {
                match op["kind"].as_str() {
                    Some("create") => create_file(op)?,
                    Some(k) => return Err(format!("the test client does not apply {k:?}")),
                    None => {
                        let uri = op["textDocument"]["uri"].as_str().ok_or("no uri")?;
                        let version = op["textDocument"]["version"].as_i64();
                        let edits = op["edits"].as_array().ok_or("no edits")?;
                        next.edit(uri, version, edits, &mut notes)?;
                    }
                }
            }
        } else if let Some(changes) = edit["changes"].as_object() {
            for (uri, edits) in changes {
                let edits = edits.as_array().ok_or("edits are not a list")?;
                next.edit(uri, None, edits, &mut notes)?;
            }
        }
        *self = next;
        Ok(notes)
    }

    fn edit(
        &mut self,
        uri: &str,
        version: Option<i64>,
        edits: &[Value],
        notes: &mut Vec<Note>,
    ) -> Result<(), String> {
        if !self.docs.contains_key(uri) {
            let text = std::fs::read_to_string(uri_path(uri)).unwrap_or_default();
            notes.push((
                "textDocument/didOpen".into(),
                json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                        "text": text}}),
            ));
            self.docs.insert(
                uri.to_string(),
                Doc {
                    text,
                    version: 1,
                    unsaved: false,
                },
            );
        } else if let Some(v) = version {
            let have = self.docs[uri].version;
            if v != have {
                return Err(format!(
                    "{uri}: the edit is for version {v}, the buffer is at {have}"
                ));
            }
        }
        let doc = self.docs.get_mut(uri).unwrap();
        // Last range first, so earlier ranges stay valid (as Neovim does).
        let mut sorted: Vec<&Value> = edits.iter().collect();
        sorted.sort_by_key(|e| {
            let s = &e["range"]["start"];
            std::cmp::Reverse((s["line"].as_u64(), s["character"].as_u64()))
        });
        for e in sorted {
            doc.text = apply_one(&doc.text, &e["range"], e["newText"].as_str().unwrap_or(""));
        }
        doc.version += 1;
        doc.unsaved = true;
        notes.push((
            "textDocument/didChange".into(),
            json!({"textDocument": {"uri": uri, "version": doc.version},
                   "contentChanges": [{"text": doc.text}]}),
        ));
        Ok(())
    }

    /// Writes a buffer to its file (`:w`): the `didSave` to send, or the
    /// editor's error.
    pub fn save(&mut self, uri: &str) -> Result<Note, String> {
        let doc = self
            .docs
            .get_mut(uri)
            .ok_or_else(|| format!("{uri} is not open"))?;
        let path = uri_path(uri);
        if !path.parent().is_some_and(Path::is_dir) {
            return Err(format!(
                "E212: Can't open file for writing: {} (its directory does not exist)",
                path.display()
            ));
        }
        std::fs::write(&path, &doc.text).map_err(|e| format!("{}: {e}", path.display()))?;
        doc.unsaved = false;
        Ok((
            "textDocument/didSave".into(),
            json!({"textDocument": {"uri": uri}}),
        ))
    }

    /// The URIs of the buffers with unsaved changes.
    pub fn unsaved(&self) -> Vec<String> {
        self.docs
            .iter()
            .filter(|(_, d)| d.unsaved)
            .map(|(u, _)| u.clone())
            .collect()
    }
}

fn create_file(op: &Value) -> Result<(), String> {
    let uri = op["uri"].as_str().ok_or("create without uri")?;
    let path = uri_path(uri);
    let overwrite = op["options"]["overwrite"].as_bool().unwrap_or(false);
    let ignore = op["options"]["ignoreIfExists"].as_bool().unwrap_or(false);
    if !overwrite && ignore {
        return Ok(()); // Neovim 0.11: skipped, whether the file exists or not.
    }
    if !overwrite && path.exists() {
        return Err(format!("{}: the file already exists", path.display()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&path, "").map_err(|e| e.to_string())
}

/// `text` with `range` (LSP, UTF-16 columns) replaced by `new`. A range past
/// the end clamps to the end, as editors do.
pub fn apply_one(text: &str, range: &Value, new: &str) -> String {
    let start = offset(text, &range["start"]);
    let end = offset(text, &range["end"]).max(start);
    format!("{}{new}{}", &text[..start], &text[end..])
}

/// The byte offset of an LSP position in `text`.
fn offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap_or(0) as usize;
    let col = pos["character"].as_u64().unwrap_or(0) as usize;
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    let line_text = &line_text[..line_text.find('\n').unwrap_or(line_text.len())];
    let mut units = 0;
    for (i, ch) in line_text.char_indices() {
        if units >= col {
            return start + i;
        }
        units += ch.len_utf16();
    }
    start + line_text.len()
}

/// The path of a `file://` URI (percent escapes decoded).
pub fn uri_path(uri: &str) -> PathBuf {
    let raw = uri.strip_prefix("file://").unwrap_or(uri);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(String::from_utf8_lossy(&out).into_owned())
}
