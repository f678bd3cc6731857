//! Runs the storage crate's async calls to completion. Under WASI the JSONL
//! backend does its file I/O in place (there are no threads to hand it to),
//! so every call is ready the first time it is polled; one that is not is
//! reported as a backend error rather than waited on forever.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use nexau_session_storage::StorageError;

/// The output of `fut`, which must finish without waiting.
pub(crate) fn ready<T>(fut: impl Future<Output = Result<T, StorageError>>) -> Result<T, StorageError> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StorageError::backend("a storage call waited for something, which a component cannot do")),
    }
}
