//! `bench`: the performance harness. Each case runs through the session-logic
//! component and through a native baseline in the same run; the ratio is what
//! to compare across machines.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;
use indicatif::ProgressBar;
use nexau_session::bench::{BenchOptions, run_bench};
use nexau_session::runtime::COMPONENT_WASM;

use super::exit;
use super::output::{print_json, say};

#[derive(Args)]
pub struct BenchArgs {
    /// Timed repetitions of the append and lock cases.
    #[arg(long, default_value_t = BenchOptions::default().iterations)]
    iterations: u32,
    /// Timed repetitions of the load case.
    #[arg(long, default_value_t = BenchOptions::default().load_iterations)]
    load_iterations: u32,
    /// Messages in the session the load case reads.
    #[arg(long, default_value_t = BenchOptions::default().history_messages)]
    history_messages: u32,
    /// Messages already in the session of the deep-append case (0 skips it).
    #[arg(long, default_value_t = BenchOptions::default().deep_history)]
    deep_history: u32,
    /// Backends to run on (repeatable): memory, sqlite, jsonl.
    #[arg(long = "backend")]
    pub(super) backends: Vec<String>,
    /// One JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the harness, on the component at `component` when given (checked already).
pub async fn run(args: BenchArgs, component: Option<&Path>) -> anyhow::Result<u8> {
    let mut options = BenchOptions {
        iterations: args.iterations.max(1),
        load_iterations: args.load_iterations.max(1),
        history_messages: args.history_messages,
        deep_history: args.deep_history,
        ..BenchOptions::default()
    };
    if !args.backends.is_empty() {
        options.backends = args.backends;
    }
    if let Some(path) = component {
        options.component = Some(std::fs::read(path)?);
    }
    let component_bytes = options.component.as_ref().map_or(COMPONENT_WASM.len(), Vec::len);
    let spinner = if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let results = run_bench(&options, &|step| spinner.set_message(step.to_owned())).await?;
    spinner.finish_and_clear();
    if args.json {
        print_json(&serde_json::json!({
            "component_bytes": component_bytes,
            "results": results,
        }))?;
    } else {
        say!("component: {component_bytes} bytes")?;
        say!("{:<8} {:<24} {:>6} {:>12} {:>12} {:>7}", "backend", "case", "iters", "guest", "native", "ratio")?;
        for r in &results {
            say!(
                "{:<8} {:<24} {:>6} {:>9.1} µs {:>9.1} µs {:>6.2}x",
                r.backend,
                r.case,
                r.iterations,
                r.guest_us,
                r.native_us,
                r.ratio
            )?;
        }
    }
    Ok(exit::OK)
}
