//! Instances kept warm between calls, per scope.
//!
//! Instantiating the component costs more than many calls do (a pool slot,
//! the instance's start-up, its first page faults). So an instance that
//! finished a call normally is kept, idle, for the next call of the same
//! scope: the same [`CheckedStore`], that is the same backend bound to the
//! same tenant (an idle instance's storage calls can only reach the store it
//! was made for, so the match is by identity, never by name). Several idle
//! instances of one scope serve its concurrent calls; each instance runs one
//! call at a time.
//!
//! What is not kept: an instance whose call failed in the runtime (a trap,
//! running out of memory or time: its state may be half-written), one whose
//! call was cancelled half-way (it is dropped with the call's future), one
//! whose linear memory grew past [`KEEP_MEMORY_BYTES`] (memory never
//! shrinks, and an idle instance holds it), and any instance while a call is
//! waiting for a pool slot (the slot goes to that call instead). At most
//! `slots / 2` instances are idle in a process; beyond that the oldest goes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use nexau_session_storage::CheckedStore;

use super::Instance;

/// The largest linear memory an idle instance may keep.
pub const KEEP_MEMORY_BYTES: usize = 64 << 20;

/// The idle instances of this process, oldest first.
pub struct WarmInstances {
    idle: Mutex<VecDeque<Instance>>,
    capacity: usize,
}

impl WarmInstances {
    /// Room for `capacity` idle instances (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        WarmInstances { idle: Mutex::new(VecDeque::new()), capacity }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, VecDeque<Instance>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently used idle instance of `store`'s scope, if any.
    pub fn take(&self, store: &Arc<CheckedStore>) -> Option<Instance> {
        let mut idle = self.idle();
        let at = idle.iter().rposition(|i| i.serves(store))?;
        idle.remove(at)
    }

    /// Keeps `instance` for its scope's next call, dropping the oldest idle
    /// instance when there are too many.
    pub fn keep(&self, instance: Instance) {
        let evicted = {
            let mut idle = self.idle();
            idle.push_back(instance);
            if idle.len() > self.capacity { idle.pop_front() } else { None }
        };
        drop(evicted); // outside the lock: dropping a store returns its pool slot
    }

    /// Drops the oldest idle instance, freeing its pool slot; false when none is idle.
    pub fn evict_oldest(&self) -> bool {
        let oldest = self.idle().pop_front();
        oldest.is_some()
    }
}
