//! The performance harness behind `nexau-session bench`.
//!
//! Every workload runs on three sides, each on a fresh store of the same
//! backend, in the same run:
//! - **guest**: through [`Engine`], that is through the session-logic component;
//! - **native**: the same storage calls made by Rust code on a
//!   [`CheckedStore`], without the component (the private `native` module):
//!   guest against native is the cost of the wasm boundary;
//! - **model floor**: the storage work of the component's own design (its
//!   tables, action log and counters) done by a hand-written program
//!   (SQLite only): native against it is the cost of the storage layer;
//! - **floor**: the least a hand-written program does for the same durable
//!   result on the same backend and settings (the private `floor` module):
//!   the model floor against it is the cost of the storage design.
//!
//! The whole set runs [`BenchOptions::runs`] times on fresh stores and each
//! figure is the median of the runs.

mod cold_start;
mod floor;
mod guest;
mod machine;
mod native;
mod side;
mod workloads;

use std::path::PathBuf;
use std::sync::Arc;

use nexau_session_storage::backends::{self, TestStore};
use nexau_session_storage::{CheckedStore, DbUrl, SchemaRegistry};
use serde::Serialize;

pub use machine::Machine;

use crate::{Engine, Error, Result, SystemClock};

/// What to run. The defaults are the sizes `BENCHMARKS.md` reports.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Times the whole set runs, on fresh stores; figures are the median.
    pub runs: u32,
    /// Sessions of the `append` and `load` workloads.
    pub sessions: u32,
    /// Turns (a user and an assistant message, one append each) per session,
    /// appended round-robin across the sessions.
    pub turns: u32,
    /// Turns in the long session once `long_append` is done.
    pub long_turns: u32,
    /// The last turns of the long session, timed one append each (`long_append`).
    pub long_timed: u32,
    /// Full loads of the long session (`long_full_load`).
    pub long_loads: u32,
    /// Messages of a tail load (`long_tail_load`).
    pub tail: u32,
    /// Tail loads of the long session.
    pub tail_loads: u32,
    /// Other sessions present during `scale_load`.
    pub scale_sessions: u32,
    /// Messages in each of those sessions.
    pub scale_messages: u32,
    /// Lock acquire + release cycles (`lock_cycle`).
    pub lock_cycles: u32,
    /// Backends to run on, by name; empty: every backend of
    /// [`BACKENDS`](nexau_session_storage::backends::BACKENDS) this machine
    /// can provide a store for.
    pub backends: Vec<String>,
    /// The `nexau-session` binary whose start `cold_start` times; `None`
    /// skips that workload.
    pub cold_start_program: Option<PathBuf>,
    /// Another build of the component to time instead of the embedded one
    /// (its bytes; see [`crate::EngineBuilder::component`]).
    pub component: Option<Vec<u8>>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            runs: 3,
            sessions: 100,
            turns: 100,
            long_turns: 10_000,
            long_timed: 100,
            long_loads: 5,
            tail: 50,
            tail_loads: 100,
            scale_sessions: 1000,
            scale_messages: 100,
            lock_cycles: 1000,
            backends: Vec::new(),
            cold_start_program: None,
            component: None,
        }
    }
}

/// A benchmark workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// One turn appended (one call), `sessions` x `turns`, round-robin.
    Append,
    /// One load of each of those sessions.
    Load,
    /// One turn appended to a session at turns `long_turns - long_timed ..= long_turns`.
    LongAppend,
    /// The whole long session loaded.
    LongFullLoad,
    /// The newest `tail` messages of the long session loaded.
    LongTailLoad,
    /// The `load` sessions loaded again while `scale_sessions` other sessions
    /// hold `scale_messages` messages each.
    ScaleLoad,
    /// One lock acquire + release.
    LockCycle,
    /// From a process's start to its first answered call (component cache warm).
    ColdStart,
}

impl Workload {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Append => "append",
            Workload::Load => "load",
            Workload::LongAppend => "long_append",
            Workload::LongFullLoad => "long_full_load",
            Workload::LongTailLoad => "long_tail_load",
            Workload::ScaleLoad => "scale_load",
            Workload::LockCycle => "lock_cycle",
            Workload::ColdStart => "cold_start",
        }
    }

    /// The unit of its figures: `us` per turn, load or cycle; `ms` for `cold_start`.
    pub fn unit(self) -> &'static str {
        if self == Workload::ColdStart { "ms" } else { "us" }
    }
}

/// One workload on one backend: the median over the runs of each side.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The backend (`memory`, `sqlite`, ...).
    pub backend: String,
    /// The workload.
    pub workload: Workload,
    /// `us` or `ms`.
    pub unit: &'static str,
    /// Through the component.
    pub guest: f64,
    /// The same storage calls without the component; `None` where it does not apply.
    pub native: Option<f64>,
    /// The hand-written minimum; `None` where none is written or it does not apply.
    pub floor: Option<f64>,
    /// The component's own rows written and read by hand; `None` where none
    /// is written (every backend but SQLite).
    pub model_floor: Option<f64>,
}

/// A whole benchmark: where it ran, the component's size, the results.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The machine.
    pub machine: Machine,
    /// Bytes of the embedded component.
    pub component_bytes: usize,
    /// One entry per backend and workload.
    pub results: Vec<BenchResult>,
}

/// The median of `values` (sorted in place); NaN when empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A fresh, empty store of `backend`, or `None` where this machine has none.
async fn test_store(backend: &str) -> Result<Option<TestStore>> {
    let kind = backends::by_name(backend).ok_or_else(|| Error::Invalid(format!("unknown backend {backend:?}")))?;
    Ok((kind.test_store)().await?)
}

/// The sides of one run on one backend, each on its own fresh store.
struct Sides {
    guest: guest::GuestSide,
    native: native::NativeSide,
    model_floor: Option<floor::Floor>,
    floor: Option<floor::Floor>,
    /// Kept until the run is done: the stores are removed when they drop.
    _stores: [TestStore; 2],
}

/// The store at `url` with `schemas` (the component's tables) created.
async fn checked_store(url: String, schemas: Vec<nexau_session_storage::TableSchema>) -> Result<CheckedStore> {
    let backend = backends::open(&DbUrl::parse(&url)?).await?;
    let store = CheckedStore::new(backend, SchemaRegistry::new(), crate::engine::DEFAULT_SCOPE);
    store.setup_models(schemas).await?;
    Ok(store)
}

async fn open(backend: &str, stores: [TestStore; 2], component: Option<&[u8]>) -> Result<Sides> {
    let mut builder = Engine::builder(&stores[0].url).clock(Arc::new(SystemClock));
    if let Some(wasm) = component {
        builder = builder.component(wasm.to_vec());
    }
    let engine = builder.build().await?;
    engine.setup_models().await?;
    let schemas = nexau_session_tables::ALL.iter().map(|t| engine.table_schema(t)).collect::<Result<Vec<_>>>()?;
    let store = checked_store(stores[1].url.clone(), schemas.clone()).await?;
    Ok(Sides {
        guest: guest::GuestSide { engine },
        native: native::NativeSide { store },
        model_floor: floor::open_model(backend, schemas).await?,
        floor: floor::open(backend).await?,
        _stores: stores,
    })
}

/// Figures of one side over the runs, per workload.
type Samples = Vec<(Workload, Vec<f64>)>;

fn add(samples: &mut Samples, figures: Vec<(Workload, f64)>) {
    for (w, v) in figures {
        match samples.iter_mut().find(|(x, _)| *x == w) {
            Some((_, vs)) => vs.push(v),
            None => samples.push((w, vec![v])),
        }
    }
}

fn median_of(samples: &mut Samples, w: Workload) -> Option<f64> {
    samples.iter_mut().find(|(x, _)| *x == w).map(|(_, vs)| median(vs))
}

/// Runs every workload on every backend; `progress` hears what is running.
pub async fn run_bench(options: &BenchOptions, progress: &dyn Fn(&str)) -> Result<BenchReport> {
    let mut results = Vec::new();
    let names: Vec<String> = if options.backends.is_empty() {
        backends::BACKENDS.iter().map(|k| k.name.to_owned()).collect()
    } else {
        options.backends.clone()
    };
    for backend in &names {
        let (mut guest, mut native, mut model, mut floor) =
            (Samples::new(), Samples::new(), Samples::new(), Samples::new());
        let (mut has_model, mut has_floor) = (false, false);
        let mut cold = Vec::new();
        let mut skipped = false;
        for run in 1..=options.runs.max(1) {
            let (Some(a), Some(b)) = (test_store(backend).await?, test_store(backend).await?) else {
                if options.backends.is_empty() {
                    progress(&format!("{backend}: skipped (no store configured on this machine)"));
                    skipped = true;
                    break;
                }
                return Err(Error::Invalid(format!("bench: no {backend} store is configured on this machine")));
            };
            let sides = open(backend, [a, b], options.component.as_deref()).await?;
            let tell = |side: &'static str| move |step: &str| progress(&format!("{backend} run {run}: {side} {step}"));
            add(&mut guest, workloads::run(&sides.guest, options, &tell("guest")).await?);
            add(&mut native, workloads::run(&sides.native, options, &tell("native")).await?);
            if let Some(m) = &sides.model_floor {
                has_model = true;
                add(&mut model, workloads::run(m.side.as_ref(), options, &tell("model floor")).await?);
            }
            if let Some(f) = &sides.floor {
                has_floor = true;
                add(&mut floor, workloads::run(f.side.as_ref(), options, &tell("floor")).await?);
            }
            if let Some(program) = &options.cold_start_program {
                progress(&format!("{backend} run {run}: cold_start"));
                cold.push(cold_start::measure(program, &sides._stores[0].url)?);
            }
        }
        if skipped {
            continue;
        }
        for (w, _) in guest.clone() {
            results.push(BenchResult {
                backend: backend.clone(),
                workload: w,
                unit: w.unit(),
                guest: median_of(&mut guest, w).unwrap_or(f64::NAN),
                native: median_of(&mut native, w),
                floor: if has_floor { median_of(&mut floor, w) } else { None },
                model_floor: if has_model { median_of(&mut model, w) } else { None },
            });
        }
        if !cold.is_empty() {
            results.push(BenchResult {
                backend: backend.clone(),
                workload: Workload::ColdStart,
                unit: Workload::ColdStart.unit(),
                guest: median(&mut cold),
                native: None,
                floor: None,
                model_floor: None,
            });
        }
    }
    Ok(BenchReport {
        machine: Machine::this(),
        component_bytes: options.component.as_ref().map_or(crate::runtime::COMPONENT_WASM.len(), Vec::len),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small sizes: the sides and floors must run every workload correctly
    /// (loads check their lengths), not fast.
    fn tiny(backend: &str) -> BenchOptions {
        BenchOptions {
            runs: 1,
            sessions: 2,
            turns: 3,
            long_turns: 20,
            long_timed: 5,
            long_loads: 1,
            tail: 4,
            tail_loads: 2,
            scale_sessions: 2,
            scale_messages: 4,
            lock_cycles: 3,
            backends: vec![backend.to_owned()],
            cold_start_program: None,
            component: None,
        }
    }

    /// Every workload on `backend` has a floor figure, when this machine has
    /// a store for it.
    async fn floors_run_on(backend: &str) {
        if test_store(backend).await.expect("a scratch store").is_none() {
            eprintln!("skipped: no {backend} store configured on this machine");
            return;
        }
        let report = run_bench(&tiny(backend), &|_| {}).await.expect("the bench runs");
        assert_eq!(report.results.len(), 7, "{:?}", report.results);
        for r in &report.results {
            assert!(r.floor.is_some_and(|f| f > 0.0), "{backend} {:?}: no floor figure", r.workload);
            assert!(r.native.is_some_and(|n| n > 0.0) && r.guest > 0.0, "{backend} {:?}", r.workload);
            let model = r.model_floor.is_some_and(|m| m > 0.0);
            assert_eq!(model, backend == "sqlite", "{backend} {:?}: model floor {:?}", r.workload, r.model_floor);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_workload_has_a_floor_on_sqlite_and_memory() {
        floors_run_on("memory").await;
        floors_run_on("sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_workload_has_a_floor_on_postgres() {
        floors_run_on("postgres").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_workload_has_a_floor_on_mysql() {
        floors_run_on("mysql").await;
    }
}
