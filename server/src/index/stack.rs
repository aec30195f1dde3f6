//! Parsing deeply nested code must never abort the process. ruff's parser,
//! its AST's `Drop` and our extractor recurse once per nesting level, and a
//! stack overflow is an abort, not an error. Measured (2 MB thread, every
//! shape from `[[[...]]]` to `not not ...`, `-(-(...))`, `lambda: lambda:`,
//! `[*[*...]]`): at most 64 bytes of stack per byte of source, since
//! nesting can never be deeper than the source is long. So a parse of `len`
//! bytes runs inline when the current thread's stack is known to be big
//! enough (twice the measured need), else on a scoped thread with a stack
//! of that size; a file too large for any reasonable stack is not parsed.

use std::cell::Cell;

/// Stack bytes per source byte, with a 2x margin over the measured 64.
const STACK_PER_BYTE: usize = 128;
/// What the parser needs besides the nesting (its own frames, the extractor).
const BASE: usize = 1 << 20;
/// Larger files are not parsed: 16 MiB of source would need a 2 GiB stack.
pub const MAX_PARSE_BYTES: usize = 16 << 20;
/// What a thread we know nothing about is assumed to have (Rust's default
/// for spawned threads, tokio's for its workers).
const ASSUMED: usize = 2 << 20;

thread_local! {
    static STACK_SIZE: Cell<usize> = const { Cell::new(ASSUMED) };
}

/// Declares the stack size of the current thread (pool threads call this
/// from their start hook), so parses up to that size run inline.
pub fn set_thread_stack(bytes: usize) {
    STACK_SIZE.with(|s| s.set(bytes));
}

/// The stack a thread pool should give its threads for typical files to
/// parse inline (up to ~500 KB of source).
pub const POOL_STACK: usize = 64 << 20;

fn needed(len: usize) -> usize {
    BASE + STACK_PER_BYTE * len
}

/// Runs `f` (which parses `len` bytes) where the stack cannot overflow.
/// None when the source is too large to parse safely or no thread with
/// that stack could be started.
pub fn with_stack_for<R: Send>(len: usize, f: impl FnOnce() -> R + Send) -> Option<R> {
    if len > MAX_PARSE_BYTES {
        return None;
    }
    let need = needed(len);
    if need <= STACK_SIZE.with(Cell::get) {
        return Some(f());
    }
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("testgen-parse".into())
            .stack_size(need)
            .spawn_scoped(s, move || {
                set_thread_stack(need);
                f()
            })
            .ok()?;
        handle.join().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_work_runs_inline_and_large_work_gets_a_thread() {
        let here = std::thread::current().id();
        assert_eq!(
            with_stack_for(100, || std::thread::current().id()),
            Some(here)
        );
        let other = with_stack_for(1 << 20, || std::thread::current().id()).unwrap();
        assert_ne!(other, here);
        assert_eq!(with_stack_for(MAX_PARSE_BYTES + 1, || ()), None);
    }
}
