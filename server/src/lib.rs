//! testgen: finds the untested code of a Python project and writes the missing
//! pytest tests. The library holds every responsibility in its own module; the
//! binary (`main.rs` + `cli/`) and, later, the language server only translate
//! between their protocol and these modules. See docs/architecture.md.

pub mod config;
pub mod coverage;
pub mod fix;
pub mod generate;
pub mod index;
pub mod lsp;
pub mod pipeline;
pub mod runner;
pub mod sandbox;
pub mod workspace;
