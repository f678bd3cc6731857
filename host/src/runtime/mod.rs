//! The wasmtime runtime that hosts the session-logic component.
//!
//! The component is embedded in the binary, compiled once per process and
//! linked once into an `InstancePre` ([`Runtime::with_component`] runs
//! another build instead, on the same engine and pool). Each instance has its
//! own `Store`, with its own memory limit; every call gets a fresh epoch
//! deadline and storage byte budget. An instance that finished a call
//! normally is kept for the next call of the same scope and component
//! (`warm_instances`); a trap poisons only its store, which is then dropped,
//! and the call reports it in one line (see `call_error`). Instances come
//! from a pool reserved once per process (see [`InstancePoolConfig`]).

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
mod random;
mod storage_import;
mod wall_clock;
mod warm_instances;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use nexau_session_storage::CheckedStore;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::{Component, HasSelf, Linker};
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
pub use random::RandomSource;
use warm_instances::{KEEP_MEMORY_BYTES, WarmInstances};

use crate::{Clock, Error, Result};

/// The session-logic component, as built by `host/build.rs`.
pub static COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/session_logic.wasm"));

/// The wasmtime engine of this process, its linker (WASI and the storage
/// import) and its instance pool: shared by every component it runs.
struct Shared {
    engine: wasmtime::Engine,
    linker: Linker<HostState>,
    slots: InstanceSlots,
    /// The most idle instances each component keeps (half the pool's slots).
    warm_capacity: usize,
}

/// One component, compiled and linked against [`Shared`], with its idle
/// instances (an instance serves only calls of its own component).
struct Compiled {
    shared: Arc<Shared>,
    pre: SessionLogicPre<HostState>,
    warm: WarmInstances,
}

/// Why this process has no engine or no embedded component, kept so that
/// every engine built later gets the same answer.
#[derive(Clone)]
enum Unavailable {
    /// [`POOL_ENV`] asks for something it cannot be.
    BadPoolSetting(String),
    /// Compiling or linking failed.
    Compile(String),
}

impl Unavailable {
    fn into_error(self) -> Error {
        match self {
            Unavailable::BadPoolSetting(m) => Error::Invalid(m),
            Unavailable::Compile(m) => Error::Runtime(crate::RuntimeError::new(m)),
        }
    }
}

static SHARED: OnceLock<std::result::Result<Arc<Shared>, Unavailable>> = OnceLock::new();
static EMBEDDED: OnceLock<std::result::Result<Arc<Compiled>, Unavailable>> = OnceLock::new();

/// The engine of this process, made by the first call; the environment
/// ([`POOL_ENV`]) is read then, once.
fn shared() -> Result<Arc<Shared>> {
    let shared = SHARED.get_or_init(|| {
        let pool = InstancePoolConfig::from_env().map_err(Unavailable::BadPoolSetting)?;
        start(pool).map(Arc::new).map_err(|e| Unavailable::Compile(format!("{e:#}")))
    });
    shared.clone().map_err(Unavailable::into_error)
}

/// The embedded component ([`COMPONENT_WASM`]), compiled by the first call.
fn embedded() -> Result<Arc<Compiled>> {
    let shared = shared()?;
    let compiled = EMBEDDED.get_or_init(|| {
        let component = component_cache::load(&shared.engine, COMPONENT_WASM)
            .map_err(|e| Unavailable::Compile(format!("{e:#}")))?;
        link(&shared, &component).map_err(|e| Unavailable::Compile(e.to_string())).map(Arc::new)
    });
    compiled.clone().map_err(Unavailable::into_error)
}

/// The engine, linker and pool; `pool` decides how instances are allocated.
fn start(pool: InstancePoolConfig) -> wasmtime::Result<Shared> {
    let engine = if pool.pooled {
        pooled_engine(&pool).or_else(|e| {
            tracing::warn!("instance pool unavailable, allocating instances on demand: {e:#}");
            wasmtime::Engine::new(&base_config())
        })?
    } else {
        wasmtime::Engine::new(&base_config())?
    };
    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    SessionLogic::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    limits::start_epoch_ticker(&engine);
    Ok(Shared { engine, linker, slots: InstanceSlots::new(pool.slots), warm_capacity: pool.slots as usize / 2 })
}

/// `component` linked against this host: refused when it imports anything
/// but WASI and `nexau:session/storage`, or does not export the
/// `session-logic` world's interfaces with their functions' types.
fn link(shared: &Arc<Shared>, component: &Component) -> Result<Compiled> {
    let refuse = |what: &str, e: wasmtime::Error| Error::Invalid(format!("{what}: {}", one_line_error(&e)));
    let pre = shared.linker.instantiate_pre(component).map_err(|e| {
        refuse("the component imports what this host does not supply (only WASI 0.2 and nexau:session/storage)", e)
    })?;
    let pre = SessionLogicPre::new(pre)
        .map_err(|e| refuse("the component does not export the session-logic world of nexau:session@0.1.0", e))?;
    Ok(Compiled { shared: shared.clone(), pre, warm: WarmInstances::new(shared.warm_capacity) })
}

/// Other builds of the component this process linked, by the SHA-256 of
/// their bytes: each is compiled once however many engines run it.
static OTHERS: Mutex<BTreeMap<[u8; 32], Arc<Compiled>>> = Mutex::new(BTreeMap::new());

/// Another build of the component, from its bytes: compiled (through the
/// compilation cache, like the embedded one) and linked, or refused with
/// [`Error::Invalid`] naming what is wrong.
fn compile_other(wasm: &[u8]) -> Result<Arc<Compiled>> {
    let key: [u8; 32] = Sha256::digest(wasm).into();
    if let Some(done) = OTHERS.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(done.clone());
    }
    let shared = shared()?;
    let component = component_cache::load(&shared.engine, wasm).map_err(|e| {
        Error::Invalid(format!("not a WebAssembly component this host can run: {}", one_line_error(&e)))
    })?;
    let compiled = Arc::new(link(&shared, &component)?);
    OTHERS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, compiled.clone());
    Ok(compiled)
}

/// Checks that `wasm` is a build of the session-logic component this host
/// can run (see [`Runtime::with_component`]), without opening any storage:
/// [`Error::Invalid`] naming what is wrong when it is not. The compiled
/// component is kept, so an engine built on it afterwards does not compile
/// it again.
pub fn check_component(wasm: &[u8]) -> Result<()> {
    compile_other(wasm).map(drop)
}

/// The engine settings every runtime shares. With `NEXAU_SESSION_PERFMAP`
/// set (to anything), wasmtime also writes `/tmp/perf-<pid>.map`, so `perf
/// report` (and a script over callgrind's addresses) can name the
/// component's functions; BENCHMARKS.md shows how to profile with it.
fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    if std::env::var_os("NEXAU_SESSION_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
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
    random: Option<Arc<dyn RandomSource>>,
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
    /// Runs the embedded component ([`COMPONENT_WASM`], compiled once per process).
    pub fn new(clock: Arc<dyn Clock>, limits: Limits) -> Result<Runtime> {
        Ok(Runtime { compiled: embedded()?, clock, limits, random: None })
    }

    /// Runs another build of the component, `wasm` (its bytes), instead of
    /// the embedded one. It must export the `session-logic` world of
    /// `nexau:session@0.1.0` (`wit/`) and import nothing but WASI 0.2 and
    /// `nexau:session/storage`; otherwise it is refused with
    /// [`Error::Invalid`] before any call. It runs under the same limits,
    /// instance pool and scoping as the embedded one.
    pub fn with_component(clock: Arc<dyn Clock>, limits: Limits, wasm: &[u8]) -> Result<Runtime> {
        Ok(Runtime { compiled: compile_other(wasm)?, clock, limits, random: None })
    }

    /// The same clock, limits and random source, running another build of
    /// the component (as [`Runtime::with_component`]).
    pub fn switched_to(&self, wasm: &[u8]) -> Result<Runtime> {
        Ok(Runtime { compiled: compile_other(wasm)?, ..self.clone() })
    }

    /// The same runtime with the component's `wasi:random` numbers taken
    /// from `source` instead of the operating system.
    pub fn with_random_source(mut self, source: Arc<dyn RandomSource>) -> Runtime {
        self.random = Some(source);
        self
    }

    /// The same compiled component, limits and random source, seen through
    /// another clock.
    pub(crate) fn with_clock(&self, clock: Arc<dyn Clock>) -> Runtime {
        Runtime { clock, ..self.clone() }
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
        let shared = &compiled.shared;
        // A slot held by an idle instance is given up for a fresh one of
        // another scope; a call waits only when every slot is busy.
        let slot = loop {
            if let Some(slot) = shared.slots.try_acquire() {
                break slot;
            }
            if !compiled.warm.evict_oldest() {
                break shared.slots.acquire().await;
            }
        };
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr().wall_clock(wall_clock::HostClock(self.clock.clone()));
        if let Some(source) = &self.random {
            wasi.secure_random(random::SourceRng(source.clone()));
        }
        let wasi = wasi.build();
        let state = HostState {
            wasi,
            table: Default::default(),
            limits: CallLimiter::new(self.limits.memory_bytes, 4),
            store,
            budget: limits::CallBudget::new(self.limits.host_call_bytes),
            storage_failure: None,
        };
        let mut store = Store::new(&shared.engine, state);
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
        let keep = self.store.data().limits.memory_bytes() <= KEEP_MEMORY_BYTES && home.shared.slots.has_free();
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
