//! The wasmtime runtime that hosts the session-logic component.
//!
//! The component is embedded in the binary, compiled once per process and
//! linked once into an `InstancePre`; every call gets a fresh `Store` (the
//! guest keeps no state between calls), with its own memory limit, epoch
//! deadline and storage byte budget. A trap poisons only that store, and
//! the call reports it in one line (see `call_error`). Instances come from a
//! pool reserved once per process (see [`InstancePoolConfig`]).

pub(crate) mod bindings;
mod cache_seal;
mod call_error;
mod call_limiter;
mod component_cache;
mod convert;
mod host_state;
mod instance_pool;
mod limits;
mod private_dir;
mod storage_import;
mod wall_clock;

use std::sync::{Arc, OnceLock};

use nexau_session_storage::CheckedStore;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Store};
use wasmtime_wasi::WasiCtxBuilder;

pub(crate) use bindings::SessionLogic;
use bindings::SessionLogicPre;
pub(crate) use call_error::one_line as one_line_error;
use call_limiter::CallLimiter;
pub use component_cache::CACHE_ENV;
pub(crate) use convert::{filter_to_wit, orders_to_wit};
use host_state::HostState;
pub(crate) use host_state::StorageFailure;
use instance_pool::InstanceSlots;
pub use instance_pool::{DEFAULT_INSTANCE_SLOTS, InstancePoolConfig, MAX_INSTANCE_SLOTS, POOL_ENV};
pub use limits::Limits;

use crate::{Clock, Error, Result};

/// The session-logic component, as built by `host/build.rs`.
pub static COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/session_logic.wasm"));

/// The engine and linked component of this process.
struct Compiled {
    engine: wasmtime::Engine,
    pre: SessionLogicPre<HostState>,
    slots: InstanceSlots,
}

/// Why this process has no compiled component, kept so that every engine
/// built later gets the same answer.
#[derive(Clone)]
enum Unavailable {
    /// [`POOL_ENV`] asks for something it cannot be.
    BadPoolSetting(String),
    /// Compiling or linking the component failed.
    Compile(String),
}

static COMPILED: OnceLock<std::result::Result<Arc<Compiled>, Unavailable>> = OnceLock::new();

/// The component of this process, compiled by the first call; the
/// environment ([`POOL_ENV`]) is read then, once.
fn compiled() -> Result<Arc<Compiled>> {
    let compiled = COMPILED.get_or_init(|| {
        let pool = InstancePoolConfig::from_env().map_err(Unavailable::BadPoolSetting)?;
        compile(pool).map(Arc::new).map_err(|e| Unavailable::Compile(format!("{e:#}")))
    });
    compiled.clone().map_err(|why| match why {
        Unavailable::BadPoolSetting(m) => Error::Invalid(m),
        Unavailable::Compile(m) => Error::Runtime(crate::RuntimeError::new(m)),
    })
}

/// Compiles and links the component; `pool` decides how instances are allocated.
fn compile(pool: InstancePoolConfig) -> wasmtime::Result<Compiled> {
    let engine = if pool.pooled {
        pooled_engine(&pool).or_else(|e| {
            tracing::warn!("instance pool unavailable, allocating instances on demand: {e:#}");
            wasmtime::Engine::new(&base_config())
        })?
    } else {
        wasmtime::Engine::new(&base_config())?
    };
    let component = component_cache::load(&engine, COMPONENT_WASM)?;
    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    SessionLogic::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    let pre = SessionLogicPre::new(linker.instantiate_pre(&component)?)?;
    limits::start_epoch_ticker(&engine);
    Ok(Compiled { engine, pre, slots: InstanceSlots::new(pool.slots) })
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config
}

/// An engine whose instances come from a pool reserved now; fails where the
/// address space cannot hold the pool (a low `ulimit -v`, say).
fn pooled_engine(pool: &InstancePoolConfig) -> wasmtime::Result<wasmtime::Engine> {
    let mut config = base_config();
    pool.apply_pooling(&mut config);
    wasmtime::Engine::new(&config)
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
    limits: Limits,
    /// Declared last so that it is dropped last: the pool slot is free only
    /// once the store is gone.
    _slot: OwnedSemaphorePermit,
}

impl Runtime {
    /// Compiles the component (once per process) and links it.
    pub fn new(clock: Arc<dyn Clock>, limits: Limits) -> Result<Runtime> {
        Ok(Runtime { compiled: compiled()?, clock, limits })
    }

    /// The same compiled component and limits, seen through another clock.
    pub(crate) fn with_clock(&self, clock: Arc<dyn Clock>) -> Runtime {
        Runtime { compiled: self.compiled.clone(), clock, limits: self.limits }
    }

    /// The clock the guest sees.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A fresh instance whose storage calls go to `store`.
    pub(crate) async fn instantiate(&self, store: Arc<CheckedStore>) -> Result<Instance> {
        let slot = self.compiled.slots.acquire().await;
        let wasi = WasiCtxBuilder::new().inherit_stderr().wall_clock(wall_clock::HostClock(self.clock.clone())).build();
        let state = HostState {
            wasi,
            table: Default::default(),
            limits: CallLimiter::new(self.limits.memory_bytes, 4),
            store,
            budget: limits::CallBudget::new(self.limits.host_call_bytes),
            storage_failure: None,
        };
        let mut store = Store::new(&self.compiled.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.limits.deadline_ticks());
        let logic = self.compiled.pre.instantiate_async(&mut store).await.map_err(|e| self.explain(e, false))?;
        Ok(Instance { store, logic, limits: self.limits, _slot: slot })
    }

    fn explain(&self, e: wasmtime::Error, memory_refused: bool) -> Error {
        call_error::explain(e, &self.limits, memory_refused)
    }
}

impl Instance {
    /// The limits of this instance's calls.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The storage failure of the last call, if any (and forgets it).
    pub(crate) fn take_storage_failure(&mut self) -> Option<StorageFailure> {
        self.store.data_mut().storage_failure.take()
    }

    /// The error of a call on this instance that failed in the runtime: one
    /// line naming the limit it ran into, when it ran into one.
    pub(crate) fn explain(&self, e: wasmtime::Error) -> Error {
        call_error::explain(e, &self.limits, self.store.data().limits.memory_refused())
    }
}
