//! What every project command does first: discover the project, then read
//! its configuration (pyproject.toml, the environment, the flags given).

use std::path::Path;

use testgen::config::{self, Config, Layer, Source};
use testgen::workspace::{self, Project};

use super::Failure;

/// The project at `path` and its configuration with `cli` (the flags the
/// user gave) on top.
pub fn load(path: &Path, cli: Layer) -> Result<(Project, Config), Failure> {
    let project = workspace::discover(path).map_err(|e| Failure::usage(e.to_string()))?;
    let config = config::load(&project.root, &project.python_root, &[], Some(&cli))
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok((project, config))
}

/// A command-line layer; paths given on the command line are relative to
/// the working directory, as in any shell command.
pub fn cli_layer() -> Layer {
    let mut l = Layer::empty(Source::CommandLine);
    l.base = std::env::current_dir().ok();
    l
}
