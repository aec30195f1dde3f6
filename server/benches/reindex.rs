//! Incremental re-index of one 1,000-line file through the index store
//! (`Index::reindex_file`, what the language server calls on every edit),
//! in an index already holding all of Django's ~2,800 files.
//!
//!     cargo bench --bench reindex          # Django fetched once into target/bench-cache/
//!     DJANGO_SRC=/path/to/django cargo bench --bench reindex
//!
//! Two files: Django's own `django/db/models/options.py` (1,025 lines, real
//! code) and a synthetic module of exactly 1,000 lines (classes, decorated
//! and annotated methods, routes, docstrings). Each iteration re-indexes the
//! file from a new text (an edit alternately present and absent), as an
//! editor buffer would arrive. Prints p50/p99/min per file; target: p50 < 2 ms.
//! Figures: docs/performance.md.

mod common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use testgen::index::model::RelPath;
use testgen::index::Index;

const WARMUP: usize = 50;
const ITERATIONS: usize = 1000;

fn main() {
    if !common::run_by_cargo_bench() {
        return;
    }
    let src = common::django_source();
    let t = Instant::now();
    let project = testgen::workspace::discover(&src).expect("discover Django");
    let index = Index::build(&project);
    println!(
        "corpus: {} ({} files indexed in {:.0} ms)",
        src.display(),
        index.len(),
        t.elapsed().as_secs_f64() * 1e3
    );

    let real = RelPath::new("django/db/models/options.py");
    let text = std::fs::read_to_string(src.join(real.as_str())).expect("options.py");
    bench(&index, "reindex_django_options_py", &real, &text);

    let synthetic = RelPath::new("django/synthetic_1000.py");
    let text = synthetic_module(1000);
    assert_eq!(text.lines().count(), 1000);
    bench(&index, "reindex_synthetic_1000_lines", &synthetic, &text);
}

fn bench(index: &Index, name: &str, path: &RelPath, text: &str) {
    // Two buffers: the file, and the file with a line edited in the middle.
    let lines: Vec<&str> = text.lines().collect();
    let mid = lines.len() / 2;
    let mut edited = String::with_capacity(text.len() + 16);
    for (i, l) in lines.iter().enumerate() {
        edited.push_str(l);
        if i == mid {
            edited.push_str("  # edited");
        }
        edited.push('\n');
    }
    let buffers = [text.as_bytes(), edited.as_bytes()];

    // Another file, to show it is left alone.
    let other = RelPath::new("django/__init__.py");
    let before = index.file(&other).expect("django/__init__.py indexed");
    let files_before = index.len();

    let mut functions = 0;
    for i in 0..WARMUP {
        functions = index.reindex_file(path, buffers[i % 2]).functions.len();
    }
    let mut times = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        let t = Instant::now();
        let fi = index.reindex_file(path, buffers[i % 2]);
        times.push(t.elapsed());
        std::hint::black_box(fi);
    }
    assert!(Arc::ptr_eq(&before, &index.file(&other).unwrap()));
    assert!(index.len() <= files_before + 1);
    println!("{name}: {} lines, {} functions", lines.len(), functions);
    common::report(name, &mut times);
}

/// A realistic module of exactly `n` lines: imports, then classes with a
/// docstring, a decorated route, properties, annotated methods with
/// defaults and branches, and nested helpers.
fn synthetic_module(n: usize) -> String {
    let mut s = String::from(
        "\"\"\"Synthetic module for the re-index benchmark.\"\"\"\nfrom __future__ import annotations\n\nimport os\nfrom dataclasses import dataclass\nfrom typing import Any, Optional\n\nfrom flask import Blueprint\n\nbp = Blueprint(\"items\", __name__)\n\n",
    );
    let mut k = 0;
    loop {
        let mut block = String::new();
        write!(
            block,
            r#"
@dataclass
class Service{k}(Base, metaclass=Meta):
    """Handles item {k}."""

    limit: int = 10

    @property
    def name(self) -> str:
        return f"service-{k}"

    @classmethod
    def create(cls, config: dict[str, Any] | None = None) -> "Service{k}":
        return cls()

    def process(self, items: list[int], *, scale: float = 1.5, **extra: Any) -> Optional[int]:
        """Sums the items above the limit."""
        total = 0
        for item in items:
            if item > self.limit:
                total += int(item * scale)
            elif item < 0:
                raise ValueError(f"negative item: {{item}}")
        def clamp(value: int, /, low: int = 0) -> int:
            return max(low, value)
        return clamp(total) if total else None


@bp.route("/items/{k}/<int:item_id>", methods=["GET", "POST"])
def view_{k}(item_id: int, verbose: bool = False):
    """Shows item {k}."""
    if verbose:
        return {{"id": item_id, "env": os.environ.get("ENV", "dev")}}
    return {{"id": item_id}}

"#
        )
        .unwrap();
        if s.lines().count() + block.lines().count() > n {
            break;
        }
        s.push_str(&block);
        k += 1;
    }
    while s.lines().count() < n {
        s.push_str("CONSTANT = 1\n");
    }
    s
}
