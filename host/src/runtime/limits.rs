//! Per-call resource limits: guest memory, wall-clock deadline (epochs), and
//! the bytes the guest may move through host calls.

use std::time::Duration;

/// How long one epoch tick lasts.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call into the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory of the guest, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time one call may spend running guest code before it traps.
    pub deadline: Duration,
    /// Maximum bytes of rows the guest may send to and receive from storage in one call.
    pub host_call_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 512 MiB: a write holds a message about four times over (the JSON it
        // gets, the parsed message, the row it stores, and a buffer grown by
        // doubling), so messages up to about 100 MB fit; reads are paged and
        // need far less.
        Limits { memory_bytes: 512 << 20, deadline: Duration::from_secs(60), host_call_bytes: 256 << 20 }
    }
}

impl Limits {
    /// The deadline in epoch ticks.
    pub fn deadline_ticks(&self) -> u64 {
        (self.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

/// Counts the bytes a call moves through storage.
#[derive(Debug)]
pub struct CallBudget {
    remaining: usize,
}

impl CallBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        CallBudget { remaining: bytes }
    }

    /// Takes `bytes` from the budget; false when it is spent.
    pub fn take(&mut self, bytes: usize) -> bool {
        match self.remaining.checked_sub(bytes) {
            Some(left) => {
                self.remaining = left;
                true
            }
            None => false,
        }
    }
}

/// Starts the thread that advances the engine's epoch every [`EPOCH_TICK`];
/// it ends once the engine is dropped.
pub fn start_epoch_ticker(engine: &wasmtime::Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("nexau-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .expect("spawn the epoch thread");
}
