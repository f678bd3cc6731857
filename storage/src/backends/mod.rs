//! The storage backends, one module each.

#[cfg(feature = "jsonl")]
pub mod jsonl;
