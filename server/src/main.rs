mod cli;

/// mimalloc instead of glibc's malloc: the index allocates and frees millions
/// of small AST nodes, and glibc's malloc/free took ~25% of `testgen index`
/// on Django (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
