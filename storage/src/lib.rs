//! The storage contract of nexau-session and its backends.
//!
//! The session logic (a WebAssembly component) imports a small transactional
//! record store; the host implements it on top of a [`Backend`]. Requests pass
//! through a [`CheckedStore`], which validates them against the declared
//! schemas and binds them to one scope (tenant), before any backend sees them.

mod backend;
mod error;
mod model;

pub use backend::Backend;
pub use error::StorageError;
pub use model::*;
