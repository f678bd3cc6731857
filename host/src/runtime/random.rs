//! The source of the component's `wasi:random/random` numbers.

use std::convert::Infallible;
use std::sync::Arc;

/// Where the component's random numbers come from, when not from the
/// operating system (the default): for tests and simulations that need to
/// replay or pin them. The session logic draws ids from it (see
/// `wit/README.md`, "Random"); its ids stay unique per call whatever the
/// source returns, but across calls only a source that differs keeps them so.
pub trait RandomSource: Send + Sync + 'static {
    /// The next 64 random bits.
    fn next_u64(&self) -> u64;
}

/// A [`RandomSource`] as the generator WASI asks for.
pub(super) struct SourceRng(pub(super) Arc<dyn RandomSource>);

impl rand_core::TryRng for SourceRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u64() as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.0.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}
