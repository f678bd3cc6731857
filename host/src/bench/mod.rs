//! The performance harness behind `nexau-session bench`: each operation is
//! timed through the session-logic component and, in the same run, through a
//! native baseline that does the same storage work directly (the private
//! `native` module), on fresh stores of each backend. Results are ratios, not
//! absolute claims.

mod native;

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexau_session_storage::backends::{self, TestStore};
use nexau_session_storage::{CheckedStore, DbUrl, SchemaRegistry};
use serde::Serialize;

use crate::{AgentRef, Engine, Error, Message, Result, Role, SystemClock, WriteOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Timed repetitions of the append and lock cases.
    pub iterations: u32,
    /// Timed repetitions of the load case.
    pub load_iterations: u32,
    /// Messages in the session the load case reads.
    pub history_messages: u32,
    /// Messages already in the session of the deep-append case (0: skip it).
    pub deep_history: u32,
    /// Backends to run on, by name; empty: every backend of
    /// [`BACKENDS`](nexau_session_storage::backends::BACKENDS) this machine
    /// can provide a store for.
    pub backends: Vec<String>,
    /// Another build of the component to time instead of the embedded one
    /// (its bytes; see [`crate::EngineBuilder::component`]).
    pub component: Option<Vec<u8>>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            iterations: 300,
            load_iterations: 30,
            history_messages: 1000,
            deep_history: 100_000,
            backends: Vec::new(),
            component: None,
        }
    }
}

/// One timed case on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// `memory` or `sqlite`.
    pub backend: String,
    /// `history_append`, `history_append_at_100000` (to a session already
    /// holding that many messages), `history_load_1000`, `lock_acquire_release`.
    pub case: String,
    /// Timed repetitions.
    pub iterations: u32,
    /// Mean time per operation through the component, in microseconds.
    pub guest_us: f64,
    /// Mean time per operation of the native baseline, in microseconds.
    pub native_us: f64,
    /// `guest_us / native_us`.
    pub ratio: f64,
}

const TEXT: &str = "A benchmark message of ordinary length: what the user asked, more or less in these words.";

fn message_json() -> String {
    let now = humantime::format_rfc3339_micros(std::time::SystemTime::now());
    serde_json::json!([{
        "id": format!("msg_{}", ulid::Ulid::new()),
        "role": "user",
        "content": [{"type": "text", "text": TEXT}],
        "metadata": {},
        "created_at": now.to_string(),
    }])
    .to_string()
}

/// Messages per append while seeding a deep session.
const SEED_CHUNK: u32 = 1000;

/// `n` messages as one JSON array, each with its own id.
fn messages_json(n: u32) -> String {
    let one: serde_json::Value = serde_json::from_str(&message_json()).unwrap_or_default();
    let template = one.get(0).cloned().unwrap_or_default();
    let all: Vec<serde_json::Value> = (0..n)
        .map(|_| {
            let mut m = template.clone();
            m["id"] = serde_json::Value::String(format!("msg_{}", ulid::Ulid::new()));
            m
        })
        .collect();
    serde_json::Value::Array(all).to_string()
}

/// Both sides of one backend: the engine (guest) and a native store on a twin backend.
struct Sides {
    engine: Engine,
    native: CheckedStore,
    /// Keep the stores until the backend's cases are done.
    _stores: [TestStore; 2],
}

/// A fresh, empty store of `backend`, or `None` where this machine has none.
async fn test_store(backend: &str) -> Result<Option<TestStore>> {
    let kind = backends::by_name(backend).ok_or_else(|| Error::Invalid(format!("unknown backend {backend:?}")))?;
    Ok((kind.test_store)().await?)
}

async fn open(guest_store: TestStore, native_store: TestStore, component: Option<&[u8]>) -> Result<Sides> {
    let mut builder = Engine::builder(&guest_store.url).clock(Arc::new(SystemClock));
    if let Some(wasm) = component {
        builder = builder.component(wasm.to_vec());
    }
    let engine = builder.build().await?;
    engine.setup_models().await?;
    let native_backend = backends::open(&DbUrl::parse(&native_store.url)?).await?;
    let native = CheckedStore::new(native_backend, SchemaRegistry::new(), crate::engine::DEFAULT_SCOPE);
    let schemas = nexau_session_tables::ALL.iter().map(|t| engine.table_schema(t)).collect::<Result<Vec<_>>>()?;
    native.setup_models(schemas).await?;
    Ok(Sides { engine, native, _stores: [guest_store, native_store] })
}

async fn guest_agent(engine: &Engine, session: &str) -> Result<AgentRef> {
    engine.get_or_create_session("bench", Some(session)).await?;
    Ok(engine.ensure_agent("bench", session, Some("main"), "main").await?.agent_ref())
}

/// Mean time per call of `op`, run `n` times.
async fn mean<F, Fut>(n: u32, mut op: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let start = Instant::now();
    for _ in 0..n {
        op().await?;
    }
    Ok(start.elapsed() / n.max(1))
}

fn result(backend: &str, case: &str, iterations: u32, guest: Duration, native: Duration) -> BenchResult {
    let (g, n) = (guest.as_secs_f64() * 1e6, native.as_secs_f64() * 1e6);
    BenchResult {
        backend: backend.to_owned(),
        case: case.to_owned(),
        iterations,
        guest_us: g,
        native_us: n,
        ratio: if n > 0.0 { g / n } else { f64::NAN },
    }
}

/// Runs every case on every backend; `progress` hears what is running.
pub async fn run_bench(options: &BenchOptions, progress: &dyn Fn(&str)) -> Result<Vec<BenchResult>> {
    let mut results = Vec::new();
    let user = Message::from_text(Role::User, TEXT);
    let plain = WriteOptions::default();
    let names: Vec<String> = if options.backends.is_empty() {
        backends::BACKENDS.iter().map(|k| k.name.to_owned()).collect()
    } else {
        options.backends.clone()
    };
    for backend in &names {
        let (Some(guest_store), Some(native_store)) = (test_store(backend).await?, test_store(backend).await?) else {
            if options.backends.is_empty() {
                progress(&format!("{backend}: skipped (no store configured on this machine)"));
                continue;
            }
            return Err(Error::Invalid(format!("bench: no {backend} store is configured on this machine")));
        };
        let sides = open(guest_store, native_store, options.component.as_deref()).await?;
        let (engine, native) = (&sides.engine, &sides.native);

        progress(&format!("{backend}: history append"));
        let agent = guest_agent(engine, "append").await?;
        native::seed(native, "bench", "append", "main").await?;
        let n = options.iterations;
        let deep = options.deep_history;
        if deep > 0 {
            progress(&format!("{backend}: seeding a {deep}-message session"));
            let deep_agent = guest_agent(engine, "deep").await?;
            native::seed(native, "bench", "deep", "main").await?;
            let mut left = deep;
            while left > 0 {
                let k = left.min(SEED_CHUNK);
                let chunk = vec![user.clone(); k as usize];
                engine.append(&deep_agent, &chunk, &plain).await?;
                native::append(native, "bench", "deep", "main", &messages_json(k)).await?;
                left -= k;
            }
            // Appends to the small session and to the deep one take turns, so
            // both meet the same machine (other load, the disk's flush times).
            progress(&format!("{backend}: history append, beside one after {deep} messages"));
            let mut times = [Duration::ZERO; 4];
            for _ in 0..n {
                let start = Instant::now();
                engine.append(&agent, std::slice::from_ref(&user), &plain).await?;
                times[0] += start.elapsed();
                let start = Instant::now();
                engine.append(&deep_agent, std::slice::from_ref(&user), &plain).await?;
                times[1] += start.elapsed();
                let start = Instant::now();
                native::append(native, "bench", "append", "main", &message_json()).await?;
                times[2] += start.elapsed();
                let start = Instant::now();
                native::append(native, "bench", "deep", "main", &message_json()).await?;
                times[3] += start.elapsed();
            }
            let n_div = n.max(1);
            results.push(result(backend, "history_append", n, times[0] / n_div, times[2] / n_div));
            results.push(result(backend, &format!("history_append_at_{deep}"), n, times[1] / n_div, times[3] / n_div));
        } else {
            let guest =
                mean(n, || async { engine.append(&agent, std::slice::from_ref(&user), &plain).await.map(drop) })
                    .await?;
            let base =
                mean(n, || async { Ok(native::append(native, "bench", "append", "main", &message_json()).await?) })
                    .await?;
            results.push(result(backend, "history_append", n, guest, base));
        }

        let h = options.history_messages;
        progress(&format!("{backend}: seeding a {h}-message session"));
        let long = guest_agent(engine, "long").await?;
        native::seed(native, "bench", "long", "main").await?;
        for _ in 0..h {
            engine.append(&long, std::slice::from_ref(&user), &plain).await?;
            native::append(native, "bench", "long", "main", &message_json()).await?;
        }
        progress(&format!("{backend}: history load of {h} messages"));
        let n = options.load_iterations;
        let guest = mean(n, || async {
            let json = engine.load_json(&long, None).await?;
            debug_assert!(json.len() > h as usize);
            Ok(())
        })
        .await?;
        let base = mean(n, || async { Ok(native::load(native, "bench", "long", "main").await.map(drop)?) }).await?;
        results.push(result(backend, &format!("history_load_{h}"), n, guest, base));

        progress(&format!("{backend}: lock acquire + release"));
        let lock_agent = guest_agent(engine, "locks").await?;
        let n = options.iterations;
        let ttl = Duration::from_secs(30);
        let guest = mean(n, || async {
            let holder = "1:0000bench";
            match engine.try_acquire_lock(&lock_agent, holder, None, ttl).await? {
                crate::AcquireOutcome::Acquired(l) => engine.release_lock(&lock_agent, holder, l.token).await,
                crate::AcquireOutcome::Held(h) => Err(Error::LockHeld(h)),
            }
        })
        .await?;
        let base = mean(n, || async { Ok(native::lock_cycle(native, "bench", "locks", "main", "1:0000bench").await?) })
            .await?;
        results.push(result(backend, "lock_acquire_release", n, guest, base));
    }
    Ok(results)
}
