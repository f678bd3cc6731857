//! The wasmtime runtime that hosts the session-logic component.
//!
//! The component is embedded in the binary, compiled once per process and
//! linked once into an `InstancePre`; every call gets a fresh `Store` (the
//! guest keeps no state between calls), with its own memory limit, epoch
//! deadline and storage byte budget. A trap poisons only that store.

pub(crate) mod bindings;
mod component_cache;
mod convert;
mod host_state;
mod limits;
mod storage_import;
mod wall_clock;

use std::sync::{Arc, OnceLock};

use nexau_session_storage::CheckedStore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Store, StoreLimitsBuilder};
use wasmtime_wasi::WasiCtxBuilder;

pub(crate) use bindings::SessionLogic;
use bindings::SessionLogicPre;
pub use component_cache::CACHE_ENV;
pub(crate) use convert::{filter_to_wit, orders_to_wit};
use host_state::HostState;
pub use limits::Limits;

use crate::{Clock, Error, Result};

/// The session-logic component, as built by `host/build.rs`.
pub static COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/session_logic.wasm"));

/// The engine and linked component of this process.
struct Compiled {
    engine: wasmtime::Engine,
    pre: SessionLogicPre<HostState>,
}

static COMPILED: OnceLock<std::result::Result<Arc<Compiled>, String>> = OnceLock::new();

fn compiled() -> Result<Arc<Compiled>> {
    COMPILED.get_or_init(|| compile().map(Arc::new).map_err(|e| format!("{e:#}"))).clone().map_err(Error::Runtime)
}

fn compile() -> wasmtime::Result<Compiled> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = wasmtime::Engine::new(&config)?;
    let component = component_cache::load(&engine, COMPONENT_WASM)?;
    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    SessionLogic::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    let pre = SessionLogicPre::new(linker.instantiate_pre(&component)?)?;
    limits::start_epoch_ticker(&engine);
    Ok(Compiled { engine, pre })
}

/// Hosts the component: one per engine, cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    compiled: Arc<Compiled>,
    clock: Arc<dyn Clock>,
    limits: Limits,
}

/// One instance of the component, ready for one call.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) logic: SessionLogic,
}

impl Runtime {
    /// Compiles the component (once per process) and links it.
    pub fn new(clock: Arc<dyn Clock>, limits: Limits) -> Result<Runtime> {
        Ok(Runtime { compiled: compiled()?, clock, limits })
    }

    /// The clock the guest sees.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A fresh instance whose storage calls go to `store`.
    pub(crate) async fn instantiate(&self, store: Arc<CheckedStore>) -> Result<Instance> {
        let wasi = WasiCtxBuilder::new().inherit_stderr().wall_clock(wall_clock::HostClock(self.clock.clone())).build();
        let state = HostState {
            wasi,
            table: Default::default(),
            limits: StoreLimitsBuilder::new().memory_size(self.limits.memory_bytes).instances(4).build(),
            store,
            budget: limits::CallBudget::new(self.limits.host_call_bytes),
        };
        let mut store = Store::new(&self.compiled.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let logic = self.compiled.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, logic })
    }
}
