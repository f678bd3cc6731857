//! `bench`: the performance harness. Every workload runs through the
//! session-logic component (guest), through the same storage calls without
//! it (native), as the component's own rows written by hand (model floor,
//! SQLite) and as the least a hand-written program does (floor), in the
//! same run; each figure is the median of `--runs` runs.

use std::io::IsTerminal;
use std::path::Path;

use clap::Args;
use indicatif::ProgressBar;
use nexau_session::bench::{BenchOptions, run_bench};

use super::exit;
use super::output::{print_json, say};

#[derive(Args)]
pub struct BenchArgs {
    /// Runs of the whole set, each on fresh stores; figures are their median.
    #[arg(long, default_value_t = BenchOptions::default().runs)]
    runs: u32,
    /// Sessions of the append and load workloads.
    #[arg(long, default_value_t = BenchOptions::default().sessions)]
    sessions: u32,
    /// Messages per session of the append and load workloads (two per turn).
    #[arg(long, default_value_t = 2 * BenchOptions::default().turns)]
    history_messages: u32,
    /// Messages of the long session (long_append, long_full_load,
    /// long_tail_load; two per turn; 0 skips them).
    #[arg(long, default_value_t = 2 * BenchOptions::default().long_turns)]
    deep_history: u32,
    /// Other sessions present during scale_load.
    #[arg(long, default_value_t = BenchOptions::default().scale_sessions)]
    scale_sessions: u32,
    /// Lock acquire + release cycles.
    #[arg(long, default_value_t = BenchOptions::default().lock_cycles)]
    iterations: u32,
    /// Full and tail loads of the long session: full loads (tail loads are 20 times as many).
    #[arg(long, default_value_t = BenchOptions::default().long_loads)]
    load_iterations: u32,
    /// Skip cold_start (which starts this binary a few times per run).
    #[arg(long)]
    no_cold_start: bool,
    /// Backends to run on (repeatable): memory, sqlite, jsonl, postgres, mysql.
    #[arg(long = "backend")]
    pub(super) backends: Vec<String>,
    /// One JSON document on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the harness, on the component at `component` when given (checked already).
pub async fn run(args: BenchArgs, component: Option<&Path>) -> anyhow::Result<u8> {
    let defaults = BenchOptions::default();
    let options = BenchOptions {
        runs: args.runs.max(1),
        sessions: args.sessions.max(1),
        turns: (args.history_messages / 2).max(1),
        long_turns: args.deep_history / 2,
        long_timed: defaults.long_timed.min(args.deep_history / 2),
        long_loads: args.load_iterations.max(1),
        tail_loads: 20 * args.load_iterations.max(1),
        scale_sessions: args.scale_sessions,
        lock_cycles: args.iterations.max(1),
        backends: args.backends,
        cold_start_program: if args.no_cold_start { None } else { Some(std::env::current_exe()?) },
        component: component.map(std::fs::read).transpose()?,
        ..defaults
    };
    let spinner = if std::io::stderr().is_terminal() { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let report = run_bench(&options, &|step| spinner.set_message(step.to_owned())).await?;
    spinner.finish_and_clear();
    if args.json {
        print_json(&report)?;
        return Ok(exit::OK);
    }
    let m = &report.machine;
    say!("machine: {}, {} CPUs, {}", m.cpu, m.cpus, m.os)?;
    say!("component: {} bytes; median of {} runs", report.component_bytes, options.runs)?;
    say!(
        "{:<8} {:<15} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "backend",
        "workload",
        "guest",
        "native",
        "model floor",
        "floor",
        "g/floor"
    )?;
    let cell = |v: Option<f64>, unit: &str| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} {unit}"));
    for r in &report.results {
        let unit = if r.unit == "us" { "µs" } else { r.unit };
        let ratio = r.floor.filter(|f| *f > 0.0).map_or_else(|| "-".to_owned(), |f| format!("{:.2}x", r.guest / f));
        say!(
            "{:<8} {:<15} {:>12} {:>12} {:>12} {:>12} {:>8}",
            r.backend,
            r.workload.name(),
            cell(Some(r.guest), unit),
            cell(r.native, unit),
            cell(r.model_floor, unit),
            cell(r.floor, unit),
            ratio
        )?;
    }
    Ok(exit::OK)
}
