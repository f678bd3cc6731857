//! Stdin, read on a plain thread: a read blocked on an open stdin never holds
//! up a signal's answer, the runtime's shutdown or the process's exit.

use tokio::sync::oneshot;

/// Resolves when stdin reaches its end (or fails); whatever is read is
/// discarded. Never resolves if no thread can be started to watch it.
pub async fn closed() {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = tx.send(());
    });
    match spawned {
        Ok(_) => {
            let _ = rx.await;
        }
        Err(e) => {
            tracing::warn!("cannot watch stdin ({e}); stop with SIGTERM or SIGINT");
            std::future::pending::<()>().await
        }
    }
}

/// All of stdin, once it reaches its end.
pub async fn read_all() -> std::io::Result<Vec<u8>> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new().name("stdin-read".into()).spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes);
        let _ = tx.send(read);
    })?;
    rx.await.unwrap_or_else(|_| Err(std::io::Error::other("the stdin reader stopped")))
}
