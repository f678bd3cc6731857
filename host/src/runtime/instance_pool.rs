//! How instances get their memory: wasmtime's pooling allocator.
//!
//! A call runs in an idle instance of its scope when there is one, otherwise
//! in a fresh instance, so allocating an instance is on the path of many
//! calls. With wasmtime's default on-demand allocator each instance maps its
//! linear memory, async stack and tables with `mmap` and unmaps them when the
//! store drops, which costs more than the call itself on a fast backend.
//! The pool reserves those regions once per process and hands out reset
//! slots; the memory a call dirtied is zeroed again (through `PAGEMAP_SCAN`
//! where the kernel has it) before the next call sees the slot, so no call can
//! read what an earlier call left behind.
//!
//! The pool has a fixed number of slots; [`InstanceSlots`] makes calls wait
//! for a free one instead of failing when more run at once. The same bound
//! applies without the pool, so both modes behave alike under load.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The environment variable that sizes the pool: a number of slots (instances
/// alive at once in the process), or `off` to map instances on demand.
pub const POOL_ENV: &str = "NEXAU_SESSION_INSTANCE_POOL";

/// Slots when [`POOL_ENV`] is unset. Each slot costs about 10 µs of process
/// start-up (guard pages), and a call holds its slot only while it runs.
pub const DEFAULT_INSTANCE_SLOTS: u32 = 64;

/// The most slots [`POOL_ENV`] may ask for: each reserves about 8 GiB of
/// address space (not memory), and the process has 128 TiB of it.
pub const MAX_INSTANCE_SLOTS: u32 = 4096;

/// Upper bounds on what one instance of the session-logic component holds.
/// They size the pool, not the guest: the component uses fewer.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;

/// The largest linear memory a slot can hold: the whole 32-bit space, so that
/// the per-runtime [`Limits`](super::Limits) alone decide how far a call may grow.
const MAX_MEMORY_BYTES: usize = 4 << 30;

/// Bytes of a slot's memory kept mapped after a call and reset in place,
/// instead of returned to the kernel and faulted in again by the next call.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// How this process allocates instances, read from [`POOL_ENV`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstancePoolConfig {
    /// Whether instances come from a pool (otherwise they are mapped on demand).
    pub pooled: bool,
    /// Instances alive at once; further calls wait for one to finish.
    pub slots: u32,
}

impl InstancePoolConfig {
    /// The configuration [`POOL_ENV`] asks for.
    ///
    /// ```
    /// use nexau_session::runtime::InstancePoolConfig;
    ///
    /// assert_eq!(InstancePoolConfig::parse(Some("off")).unwrap().pooled, false);
    /// assert_eq!(InstancePoolConfig::parse(Some("512")).unwrap().slots, 512);
    /// assert!(InstancePoolConfig::parse(Some("many")).is_err());
    /// ```
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(InstancePoolConfig { pooled: true, slots: DEFAULT_INSTANCE_SLOTS }),
            Some("off") => Ok(InstancePoolConfig { pooled: false, slots: DEFAULT_INSTANCE_SLOTS }),
            Some(v) => match v.parse::<u32>() {
                Ok(slots @ 1..=MAX_INSTANCE_SLOTS) => Ok(InstancePoolConfig { pooled: true, slots }),
                _ => Err(format!(
                    "{POOL_ENV} must be `off` or a number of slots from 1 to {MAX_INSTANCE_SLOTS}, not `{v}`"
                )),
            },
        }
    }

    /// The configuration of this process's environment.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(POOL_ENV) {
            Ok(v) => Self::parse(Some(&v)),
            Err(std::env::VarError::NotPresent) => Self::parse(None),
            Err(std::env::VarError::NotUnicode(_)) => Self::parse(Some("?")),
        }
    }

    /// Configures `config` to allocate instances from a pool of `self.slots`.
    pub(super) fn apply_pooling(&self, config: &mut Config) {
        let n = self.slots;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(n * MEMORIES_PER_COMPONENT)
            .total_tables(n * TABLES_PER_COMPONENT)
            .total_stacks(n)
            .max_memory_size(MAX_MEMORY_BYTES)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES / 16)
            .pagemap_scan(Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
}

/// Admission to the instance pool: one permit per live instance.
#[derive(Clone)]
pub struct InstanceSlots {
    permits: Arc<Semaphore>,
}

impl InstanceSlots {
    /// Room for `slots` live instances.
    pub fn new(slots: u32) -> Self {
        InstanceSlots { permits: Arc::new(Semaphore::new(slots as usize)) }
    }

    /// A free slot, if there is one now.
    pub fn try_acquire(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Whether a slot is free now (so no call is waiting for one).
    pub fn has_free(&self) -> bool {
        self.permits.available_permits() > 0
    }

    /// Waits for a free slot; the slot is free again when the permit drops.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring can only wait, not fail.
        self.permits.clone().acquire_owned().await.expect("the instance semaphore is never closed")
    }
}
