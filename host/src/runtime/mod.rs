//! The wasmtime runtime that hosts the session-logic component.
//!
//! The component is embedded in the binary, compiled once per process and
//! linked once into an `InstancePre`. Each instance has its own `Store`, with
//! its own memory limit; every call gets a fresh epoch deadline and storage
//! byte budget. An instance that finished a call normally is kept for the
//! next call of the same scope (`warm_instances`); a trap poisons only its
//! store, which is then dropped, and the call reports it in one line (see
//! `call_error`). Instances come from a pool reserved once per process (see
//! [`InstancePoolConfig`]).

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
mod warm_instances;

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
use host_state::HostState;
pub(crate) use host_state::StorageFailure;
use instance_pool::InstanceSlots;
pub use instance_pool::{DEFAULT_INSTANCE_SLOTS, InstancePoolConfig, MAX_INSTANCE_SLOTS, POOL_ENV};
pub use limits::Limits;
use warm_instances::{KEEP_MEMORY_BYTES, WarmInstances};

use crate::{Clock, Error, Result};

/// The session-logic component, as built by `host/build.rs`.
pub static COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/session_logic.wasm"));

/// The engine and linked component of this process.
struct Compiled {
    engine: wasmtime::Engine,
    pre: SessionLogicPre<HostState>,
    slots: InstanceSlots,
    warm: WarmInstances,
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
    let warm = WarmInstances::new(pool.slots as usize / 2);
    Ok(Compiled { engine, pre, slots: InstanceSlots::new(pool.slots), warm })
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

/// One instance of the component, ready for one call at a time.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) logic: SessionLogic,
    limits: Limits,
    /// Where it goes back to after a call that ended normally.
    home: Arc<Compiled>,
    /// Calls it finished normally before this one.
    calls: u64,
    /// Declared last so that it is dropped last: the pool slot is free only
    /// once the store is gone.
    _slot: OwnedSemaphorePermit,
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

    /// An instance whose storage calls go to `store`, ready for a call: an
    /// idle one of the same scope when there is one, else a fresh one.
    pub(crate) async fn instance(&self, store: Arc<CheckedStore>) -> Result<Instance> {
        let Some(mut warm) = self.compiled.warm.take(&store) else { return self.instantiate(store).await };
        warm.ready_for_call();
        Ok(warm)
    }

    /// A fresh instance whose storage calls go to `store`.
    pub(crate) async fn instantiate(&self, store: Arc<CheckedStore>) -> Result<Instance> {
        let compiled = &self.compiled;
        // A slot held by an idle instance is given up for a fresh one of
        // another scope; a call waits only when every slot is busy.
        let slot = loop {
            if let Some(slot) = compiled.slots.try_acquire() {
                break slot;
            }
            if !compiled.warm.evict_oldest() {
                break compiled.slots.acquire().await;
            }
        };
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
        Ok(Instance { store, logic, limits: self.limits, home: self.compiled.clone(), calls: 0, _slot: slot })
    }

    fn explain(&self, e: wasmtime::Error, memory_refused: bool) -> Error {
        call_error::explain(e, &self.limits, memory_refused)
    }
}

impl Instance {
    /// Resets what each call gets afresh: the deadline, the storage byte
    /// budget, the notes of the last call's failures.
    pub(crate) fn ready_for_call(&mut self) {
        let state = self.store.data_mut();
        state.budget = limits::CallBudget::new(self.limits.host_call_bytes);
        state.storage_failure = None;
        state.limits.forget_refusal();
        self.store.set_epoch_deadline(self.limits.deadline_ticks());
    }

    /// Gives the instance back after a call that ended normally, for the
    /// next call of its scope; see `warm_instances` for what is not kept.
    pub(crate) fn recycle(mut self) {
        self.calls += 1;
        let home = self.home.clone();
        let keep = self.store.data().limits.memory_bytes() <= KEEP_MEMORY_BYTES && home.slots.has_free();
        if keep {
            home.warm.keep(self);
        }
    }

    /// Whether its storage calls go to `store` (the same scoped store, not an equal one).
    pub(crate) fn serves(&self, store: &Arc<CheckedStore>) -> bool {
        Arc::ptr_eq(&self.store.data().store, store)
    }

    /// Calls it finished normally before the current one (0: a fresh instance).
    #[cfg(test)]
    pub(crate) fn calls(&self) -> u64 {
        self.calls
    }

    /// The largest its linear memory has grown to, in bytes.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        self.store.data().limits.memory_bytes()
    }

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
