//! The resource limiter of one call: wasmtime's [`StoreLimits`], plus a note
//! of whether the guest asked for more memory than it may have, so that a
//! call that then traps can say so instead of showing a wasm backtrace.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Limits one store and remembers a refused memory growth.
pub struct CallLimiter {
    limits: StoreLimits,
    memory_refused: bool,
    memory_bytes: usize,
}

impl CallLimiter {
    /// At most `memory_bytes` of linear memory and `instances` instances.
    pub fn new(memory_bytes: usize, instances: usize) -> Self {
        CallLimiter {
            limits: StoreLimitsBuilder::new().memory_size(memory_bytes).instances(instances).build(),
            memory_refused: false,
            memory_bytes: 0,
        }
    }

    /// Forgets a refusal noted during an earlier call of the same store.
    pub fn forget_refusal(&mut self) {
        self.memory_refused = false;
    }

    /// The size of the largest linear memory this store was allowed to grow to.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Whether the guest was refused memory during this call.
    pub fn memory_refused(&self) -> bool {
        self.memory_refused
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.memory_refused |= !allowed;
        if allowed {
            self.memory_bytes = self.memory_bytes.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
