//! History: the append-only log of run actions of each agent, and loading the
//! conversation back from it.

pub mod load;
pub mod messages;
pub mod prepare;
pub mod repair;
pub mod timeline;
pub mod write;
