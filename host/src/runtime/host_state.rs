//! The per-call store data: WASI context, resource table, limits, and the
//! scoped storage handle the guest's `storage` imports run against.

use std::sync::Arc;

use nexau_session_storage::CheckedStore;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::call_limiter::CallLimiter;
use super::limits::CallBudget;

/// What one `Store` carries.
pub struct HostState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limits: CallLimiter,
    pub(super) store: Arc<CheckedStore>,
    pub(super) budget: CallBudget,
    /// What went wrong in storage during this call that the guest sees only
    /// as text: the host reports it whole if the call fails with it.
    pub(super) storage_failure: Option<StorageFailure>,
}

/// A storage failure the host keeps for the end of the call.
#[derive(Debug)]
pub(crate) enum StorageFailure {
    /// The backend failed; the error keeps its cause.
    Backend(nexau_session_storage::StorageError),
    /// The call moved more bytes through storage than `Limits::host_call_bytes`.
    BudgetSpent,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
