//! Database URLs, as the storage crate parses them against its backend
//! registry: `sqlite+aiosqlite:///sessions.db`, `memory://`, … Shown in
//! messages only with their password replaced by `***` ([`redact`]).

pub use nexau_session_storage::{DbUrl, redact};
