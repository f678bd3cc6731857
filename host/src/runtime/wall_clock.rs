//! Backs the guest's WASI wall clock with the host's [`Clock`].

use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi::HostWallClock;

use crate::Clock;

/// A [`HostWallClock`] reading the host's clock on every call.
pub struct HostClock(pub Arc<dyn Clock>);

impl HostWallClock for HostClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.now_ns().max(0) as u64)
    }
}
