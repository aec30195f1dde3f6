//! The indexer never panics, whatever the bytes: random ones, and mutations
//! of real Python source. Runs TESTGEN_FUZZ_SECS seconds (default 10).

use std::time::{Duration, Instant};

use testgen::index::index_source;
use testgen::index::model::RelPath;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const PUNCT: &[u8] = b"()[]{}:@'\"\\\n\t #=*";

const SEEDS: &[&str] = &[
    "def f(a, b=1, *c, d, **e):\n    '''doc'''\n    return a\n",
    "class C(B, metaclass=M):\n    @property\n    def p(self):\n        return 1\n",
    "@app.route('/x/<int:id>', methods=['GET'])\ndef view(id):\n    return str(id)\n",
    "from django.urls import path\nurlpatterns = [path('a/', views.a), path('b/<int:pk>/', include('x.urls'))]\n",
    "async def g():\n    async with x as y:\n        await y\n    match z:\n        case [1, *r]:\n            pass\n",
    "x = f'{a!r:>{w}}' + b'\\xff' + r'\\d'\n",
];

#[test]
fn indexer_survives_random_and_mutated_input() {
    let secs: u64 = std::env::var("TESTGEN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let path = RelPath::new("fuzz.py");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let input: Vec<u8> = if runs.is_multiple_of(3) {
            (0..rng.below(512)).map(|_| rng.next() as u8).collect()
        } else {
            let mut v = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..=rng.below(8) {
                let pos = rng.below(v.len() + 1);
                match rng.below(4) {
                    0 if pos < v.len() => v[pos] = rng.next() as u8,
                    1 => v.insert(pos, PUNCT[rng.below(PUNCT.len())]),
                    2 if pos < v.len() => {
                        v.remove(pos);
                    }
                    _ => v.truncate(pos),
                }
            }
            v
        };
        let fi = index_source(&path, &input);
        for f in &fi.functions {
            assert!(
                f.line >= 1 && f.end_line >= f.line,
                "bad range in {input:?}"
            );
        }
        runs += 1;
    }
    assert!(runs > 100, "only {runs} inputs in {secs}s");
}
