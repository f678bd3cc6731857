//! Other builds of the component, written in the test as WAT and wrapped by
//! wit-component: a host must refuse one with the wrong exports or imports,
//! and must stop or contain one that misbehaves. Each hostile call fails (or
//! gets nothing) alone: the next call on the same engine works, and so does
//! the embedded component next to it.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nexau_session::runtime::Limits;
use nexau_session::{AgentRef, Engine, Error};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{Resolve, WorldId, WorldItem};

/// The WIT package `nexau:session` of this repository.
fn contract() -> (Resolve, WorldId) {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve.push_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")).unwrap();
    let world = resolve.select_world(&[pkg], Some("session-logic")).unwrap();
    (resolve, world)
}

fn wat_types(types: &[WasmType]) -> String {
    let names = types.iter().map(|t| match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => "i32",
        WasmType::I64 | WasmType::PointerOrI64 => "i64",
        WasmType::F32 => "f32",
        WasmType::F64 => "f64",
    });
    names.collect::<Vec<_>>().join(" ")
}

/// A core module exporting every function of `world`'s exported
/// interfaces: those named in `bodies` (by `interface#function`, e.g.
/// `sessions#get`) run that WAT, the rest trap. `extra` goes into the
/// module as it is (imports, data).
fn core_module(resolve: &Resolve, world: WorldId, extra: &str, bodies: &[(&str, &str)]) -> Vec<u8> {
    let mut funcs = String::new();
    for (key, item) in &resolve.worlds[world].exports {
        let WorldItem::Interface { id, .. } = item else { continue };
        let qualified = resolve.name_world_key(key);
        let short = resolve.interfaces[*id].name.clone().unwrap_or_default();
        for (name, func) in &resolve.interfaces[*id].functions {
            let sig = resolve.wasm_signature(AbiVariant::GuestExport, func);
            let body = bodies.iter().find(|(n, _)| *n == format!("{short}#{name}")).map_or("unreachable", |b| b.1);
            funcs.push_str(&format!(
                "(func (export \"{qualified}#{name}\") (param {}) (result {}) {body})\n",
                wat_types(&sig.params),
                wat_types(&sig.results)
            ));
        }
    }
    let wat = format!(
        r#"(module
  {extra}
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  ;; A bump allocator: enough for the arguments the host passes in.
  (func (export "cabi_realloc") (param $old i32) (param $old_len i32) (param $align i32) (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $next (i32.add (local.get $p) (local.get $len)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (global.get $next) (i32.const 16)) (i32.const 1))) (i32.const -1))
        (then unreachable))))
    (if (local.get $old_len) (then (memory.copy (local.get $p) (local.get $old) (local.get $old_len))))
    (local.get $p))
  {funcs})"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

/// `module` wrapped as a component of `world`.
fn componentize(resolve: &Resolve, world: WorldId, mut module: Vec<u8>) -> Vec<u8> {
    wit_component::embed_component_metadata(&mut module, resolve, world, StringEncoding::UTF8).unwrap();
    ComponentEncoder::default().module(&module).unwrap().validate(true).encode().unwrap()
}

// Where the hostile component keeps its data (linear memory, little-endian).
const TABLE_AT: u32 = 64; // "sessions"
const NODE_AT: u32 = 128; // one filter node: compare(user_id eq text "alice")
const FOUND_AT: u32 = 512; // the return area of `storage.find`
const RETURN_AT: u32 = 1024; // the return area of the exported functions

/// A call of `storage.find` (`$find`) or `storage.find-packed`
/// (`$find_packed`) on `sessions` with `nodes` filter nodes at [`NODE_AT`],
/// then `sessions.delete`'s answer: `ok(true)` when it returned rows,
/// `ok(false)` when it returned none or failed.
fn find_sessions(find: &str, nodes: u32) -> String {
    // Both flatten (table: string, query) to (table ptr, len, filter nodes
    // ptr, len, order-by ptr, len, limit tag, value, offset tag, value,
    // columns ptr, len: none, so every column) and a pointer to their result:
    // result<row-set, storage-error>, tag at 0, the row-set at 4 (columns
    // ptr, len, rows ptr, len), or result<packed-rows, storage-error>, the
    // packed rows at 4 (columns ptr, len, kinds ptr, len, ...): either way
    // the length at 16 is zero when no row came back. A result<bool,
    // session-error> has its tag at 0 and the bool at 8.
    format!(
        "(call {find} (i32.const {TABLE_AT}) (i32.const 8) (i32.const {NODE_AT}) (i32.const {nodes})
           (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
           (i32.const 0) (i32.const 0) (i32.const {FOUND_AT}))
         (i32.store8 (i32.const {RETURN_AT}) (i32.const 0))
         (i32.store8 (i32.const {ret_bool})
           (i32.and (i32.eqz (i32.load8_u (i32.const {FOUND_AT})))
                    (i32.ne (i32.load (i32.const {rows_len})) (i32.const 0))))
         (i32.const {RETURN_AT})",
        ret_bool = RETURN_AT + 8,
        rows_len = FOUND_AT + 16,
    )
}

/// The hostile build: it exports the whole world, but
/// - `sessions.get` loops forever;
/// - `sessions.list-agents` grows its memory until refused;
/// - `sessions.delete` asks storage (`find`) for every session row it can
///   see, and `sessions.delete-if-unchanged` (`find-packed`) for user
///   `alice`'s (another tenant's user), answering whether it got any;
/// - `locks.show` answers `ok(none)` at once: the ordinary call.
fn hostile() -> Vec<u8> {
    let (resolve, world) = contract();
    let storage = resolve.interfaces.iter().find(|(_, i)| i.name.as_deref() == Some("storage")).unwrap().1;
    let sig = resolve.wasm_signature(AbiVariant::GuestImport, &storage.functions["find"]);
    assert_eq!(sig.params.len(), 13, "the flattening `find_sessions` relies on");
    let packed = resolve.wasm_signature(AbiVariant::GuestImport, &storage.functions["find-packed"]);
    assert_eq!(packed.params, sig.params, "find-packed flattens as find does");
    let extra = format!(
        r#"(import "nexau:session/storage@0.1.0" "find" (func $find (param {params})))
  (import "nexau:session/storage@0.1.0" "find-packed" (func $find_packed (param {params})))
  (data (i32.const {TABLE_AT}) "sessions")
  (data (i32.const 80) "user_id")
  (data (i32.const 96) "alice")
  ;; filter-node `compare` (tag 0; the comparison at 8): field "user_id" at
  ;; 8, op eq at 16, value `text` (tag 4 at 24) "alice" at 32.
  (data (i32.const {NODE_AT}) "\00\00\00\00\00\00\00\00\50\00\00\00\07\00\00\00\00\00\00\00\00\00\00\00\04\00\00\00\00\00\00\00\60\00\00\00\05\00\00\00")"#,
        params = wat_types(&sig.params)
    );
    let every_row = find_sessions("$find", 0);
    let alices_rows = find_sessions("$find_packed", 1);
    let show_none = format!(
        "(i32.store8 (i32.const {RETURN_AT}) (i32.const 0)) (i32.store8 (i32.const {}) (i32.const 0)) (i32.const {RETURN_AT})",
        RETURN_AT + 8
    );
    let bodies = [
        ("sessions#get", "(loop $forever (br $forever)) unreachable"),
        (
            "sessions#list-agents",
            "(loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable",
        ),
        ("sessions#delete", every_row.as_str()),
        ("sessions#delete-if-unchanged", alices_rows.as_str()),
        ("locks#show", show_none.as_str()),
    ];
    let module = core_module(&resolve, world, &extra, &bodies);
    componentize(&resolve, world, module)
}

async fn tenant_a() -> Engine {
    let engine = Engine::builder("memory://")
        .clock(support::test_clock() as Arc<_>)
        .scope("tenant-a")
        .limits(Limits { memory_bytes: 32 << 20, deadline: Duration::from_millis(300), ..Limits::default() })
        .build()
        .await
        .unwrap();
    engine.setup_models().await.unwrap();
    engine.get_or_create_session("alice", Some("s1")).await.unwrap();
    engine
}

fn agent() -> AgentRef {
    AgentRef { user_id: "u".into(), session_id: "s".into(), agent_id: "a".into() }
}

/// After a hostile call: the hostile engine still answers an ordinary call,
/// and the embedded component on the same storage still works.
async fn both_still_work(hostile: &Engine, normal: &Engine) {
    assert_eq!(hostile.show_lock(&agent()).await.unwrap(), None);
    assert!(normal.get_session("alice", "s1").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_loops_forever_is_stopped_at_the_deadline() {
    let normal = tenant_a().await;
    let hostile = normal.with_component(&hostile()).unwrap();
    let err = hostile.get_session("alice", "s1").await.unwrap_err();
    assert!(matches!(err, Error::Runtime(_)), "{err:?}");
    assert_eq!(err.to_string(), "runtime: the call ran past its deadline of 300ms (Limits::deadline)");
    both_still_work(&hostile, &normal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_allocates_without_end_is_stopped_at_the_memory_limit() {
    let normal = tenant_a().await;
    let hostile = normal.with_component(&hostile()).unwrap();
    let err = hostile.list_agents("alice", "s1").await.unwrap_err();
    assert!(matches!(err, Error::Runtime(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "runtime: the call needed more than the 32 MiB of guest memory it may use (Limits::memory_bytes)"
    );
    both_still_work(&hostile, &normal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_asks_for_another_tenants_rows_gets_nothing() {
    let normal = tenant_a().await;
    let wasm = hostile();
    // In its own tenant the same code finds the rows: the answers below are
    // the scoping, not a component that cannot read.
    let own = normal.with_component(&wasm).unwrap();
    assert!(own.delete_session("x", "y").await.unwrap(), "every row of its own tenant");
    assert!(own.delete_session_if_unchanged("x", "y", "z").await.unwrap(), "alice's rows of its own tenant");

    let other = normal.with_scope("tenant-b").with_component(&wasm).unwrap();
    assert!(!other.delete_session("x", "y").await.unwrap(), "tenant-b saw tenant-a's sessions");
    assert!(!other.delete_session_if_unchanged("x", "y", "z").await.unwrap(), "tenant-b saw alice's session");
    both_still_work(&other, &normal).await;
    assert!(normal.with_scope("tenant-b").get_session("alice", "s1").await.unwrap().is_none());
}

fn invalid(err: Error) -> String {
    match err {
        Error::Invalid(m) => m,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_component_with_the_wrong_exports_or_imports_is_refused_before_storage_opens() {
    let refuse = |wasm: Vec<u8>| async move {
        // A URL that cannot be opened: the component is refused first.
        let built = Engine::builder("sqlite:////nonexistent-dir/x.db").component(wasm).build().await;
        invalid(built.err().expect("refused"))
    };

    // Another world altogether.
    let mut resolve = Resolve::default();
    let pkg = resolve.push_str("other.wit", "package test:other;\nworld other { export run: func() -> u32; }").unwrap();
    let world = resolve.select_world(&[pkg], Some("other")).unwrap();
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 7)
           (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    let m = refuse(componentize(&resolve, world, module)).await;
    assert!(m.starts_with("the component does not export the session-logic world of nexau:session@0.1.0: "), "{m}");
    assert!(!m.contains('\n'), "{m}");

    // The right exports, plus an import this host does not supply.
    let (mut resolve, _) = contract();
    let pkg = resolve
        .push_str(
            "extra.wit",
            "package test:extra;\nworld extra { include nexau:session/session-logic@0.1.0; import frob: func(); }",
        )
        .unwrap();
    let world = resolve.select_world(&[pkg], Some("extra")).unwrap();
    let module = core_module(&resolve, world, r#"(import "$root" "frob" (func))"#, &[]);
    let m = refuse(componentize(&resolve, world, module)).await;
    assert!(m.starts_with("the component imports what this host does not supply"), "{m}");
    assert!(m.contains("frob"), "{m}");

    // Not a component.
    let m = refuse(b"\0asm\x01\0\0\0".to_vec()).await;
    assert!(m.starts_with("not a WebAssembly component this host can run: "), "{m}");

    // A file that is not there.
    let built = Engine::builder("memory://").component_file("/nonexistent/component.wasm").build().await;
    let m = invalid(built.err().expect("refused"));
    assert!(m.starts_with("component file /nonexistent/component.wasm: "), "{m}");
}

#[tokio::test]
async fn the_embedded_component_loaded_as_another_build_runs() {
    let b = support::backend("memory").await.unwrap();
    let wasm = nexau_session::runtime::COMPONENT_WASM.to_vec();
    let engine = Engine::builder(&b.url).component(wasm).build().await.unwrap();
    engine.setup_models().await.unwrap();
    let agent = support::root_agent(&engine, "alice", "s1").await;
    engine.append(&agent, &[support::user("hi")], &Default::default()).await.unwrap();
    assert_eq!(support::texts(&engine.load(&agent, None).await.unwrap()), ["hi"]);
}
