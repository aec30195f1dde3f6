//! `testgen prompt PATH --target path.py::Qualname... [--provider P]
//! [--model M] [--base-url URL] [--python P]`: prints, for each target, the
//! exact request the LLM engine would send first (URL, header names, the
//! JSON body with its messages and the `get_info` tool), without sending
//! it. The missing lines come from the newest coverage on disk, else from
//! a run of the suite. The key is never printed (only header names are).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use testgen::config::Provider;
use testgen::generate::llm::context::Symbols;
use testgen::generate::llm::LlmEngine;
use testgen::generate::{self, BaselineSource, Filter, Limits};
use testgen::index::Index;

use super::generate_cmd::LlmArgs;
use super::project_config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// The functions (path relative to the project root).
    #[arg(long, value_name = "PATH.py::QUALNAME", num_args = 1.., required = true)]
    pub target: Vec<String>,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut layer = project_config::cli_layer();
    layer.values.python = args.python.clone();
    args.llm.apply(&mut layer.values.llm);
    let (project, mut config) = project_config::load(&args.path, layer)?;
    // Printing needs no key and no configured provider: what would be sent
    // to OpenAI's default model is shown then.
    let provider = *config.llm.provider.get_or_insert(Provider::Openai);
    if config.llm.model.is_none() {
        config.llm.model = Some("gpt-4o-mini".into());
    }
    if provider == Provider::Azure && config.llm.base_url.is_none() {
        config.llm.base_url = Some("https://RESOURCE.openai.azure.com".into());
    }
    let key_env = config.llm.key_env();
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .or_else(|| (Some(k) == key_env.as_deref()).then(|| "unused-by-testgen-prompt".into()))
    };
    let settings =
        testgen::generate::llm::settings::Settings::resolve(&config.llm, &project.root, env)
            .map_err(super::Failure::usage)?;
    let client = testgen::generate::llm::client::Client::new(settings)
        .map_err(|e| super::Failure::usage(e.to_string()))?;
    let engine = LlmEngine::with_client(client, &project.root).map_err(super::Failure::usage)?;
    let filter = Filter::Functions(
        args.target
            .iter()
            .map(|t| Filter::parse_target(t))
            .collect::<Result<_, _>>()
            .map_err(super::Failure::usage)?,
    );
    let req = generate::Request {
        python: config.python.clone(),
        filter,
        limits: Limits::from_config(&config),
        baseline: BaselineSource::Existing,
        suite_timeout: Duration::from_secs(config.test_timeout_s),
        pytest_args: config.pytest_args.clone(),
        anytime: Default::default(),
    };
    let index = Index::build(&project);
    let found = super::run_cancellable(|cancel| {
        let (project, index, req) = (&project, &index, &req);
        async move { generate::targets_for(project, index, req, &cancel).await }
    })?;
    let (targets, skipped, roots) = found.map_err(|e| super::Failure::usage(e.to_string()))?;
    if targets.is_empty() {
        let why = skipped
            .iter()
            .map(|s| format!("{}: {}", s.target, s.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(super::Failure::usage(format!("no such target ({why})")).into());
    }
    let sym = Symbols::new(&project.root, &index, &roots);
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for t in &targets {
        let dump = engine.dump(&sym, t).map_err(super::Failure::usage)?;
        writeln!(
            w,
            "# {} (about {} prompt tokens)",
            t.id(),
            dump.estimated_prompt_tokens
        )?;
        writeln!(w, "# {}", dump.url_shape)?;
        serde_json::to_writer_pretty(&mut w, &dump.request).context("writing JSON")?;
        writeln!(w)?;
    }
    for s in &skipped {
        writeln!(w, "# skipped {}: {}", s.target, s.reason)?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
