//! The embedded session logic is a real component (not a core module), small,
//! and asks its host for nothing but WASI and the `storage` interface.

use nexau_session::runtime::COMPONENT_WASM;
use wasmtime::component::Component;

#[test]
fn the_guest_is_a_small_component() {
    // A component's preamble: magic, then version 0x0d and layer 1 (a core module has layer 0).
    assert_eq!(&COMPONENT_WASM[..4], b"\0asm");
    assert_eq!(&COMPONENT_WASM[4..8], &[0x0d, 0x00, 0x01, 0x00], "not a component-model binary");
    assert!(COMPONENT_WASM.len() < 100_000, "the component grew to {} bytes", COMPONENT_WASM.len());
}

#[test]
fn the_guest_imports_only_wasi_and_storage() {
    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, COMPONENT_WASM).expect("the component compiles");
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(&engine).map(|(name, _)| name.to_owned()).collect();
    assert!(imports.iter().any(|i| i.starts_with("nexau:session/storage@")), "{imports:?}");
    for name in &imports {
        assert!(
            name.starts_with("wasi:") || name.starts_with("nexau:session/storage@"),
            "unexpected import {name} (all: {imports:?})"
        );
    }
    let exports: Vec<String> = ty.exports(&engine).map(|(name, _)| name.to_owned()).collect();
    for wanted in ["sessions", "history", "locks"] {
        assert!(exports.iter().any(|e| e.starts_with(&format!("nexau:session/{wanted}@"))), "{exports:?}");
    }
}
