mod cli;

/// mimalloc instead of glibc's malloc: the index allocates and frees millions
/// of small AST nodes, and glibc's malloc/free took ~25% of `testgen index`
/// on Django (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Index threads with stacks large enough to parse typical files inline
    // (deeply nested code is parsed on a bigger thread: index/stack.rs).
    let stack = testgen::index::stack::POOL_STACK;
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(stack)
        .start_handler(move |_| testgen::index::stack::set_thread_stack(stack))
        .build_global();
    cli::main()
}
