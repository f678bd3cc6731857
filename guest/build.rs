//! Link flags of the wasm build: relocation targets in the code section are
//! written as minimal LEB128s (wasm-ld pads them to 5 bytes by default, which
//! costs about a tenth of the component's code size).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        // Compressing needs the debug sections gone (the guest profile strips them anyway).
        println!("cargo:rustc-link-arg-cdylib=--strip-debug");
        println!("cargo:rustc-link-arg-cdylib=--compress-relocations");
    }
}
