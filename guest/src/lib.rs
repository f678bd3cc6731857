//! The session logic of nexau-session as a WebAssembly component.
//!
//! Implements the WIT world `session-logic` (see `wit/`): sessions and their
//! agents, the history log of run actions, agent locks with fencing tokens. Storage is the host's
//! `storage` import; time and randomness come from WASI (`wasi:clocks/wall-clock`,
//! `wasi:random/random`). The logic never sleeps or waits.
//!
//! For size, the wasm build is `no_std` with a small freeing allocator and
//! an aborting panic handler (`wasm_rt`), its own JSON (`json`) and no
//! `format!`; native builds (tests, clippy) use `std`. The component must
//! stay under 100,000 bytes as the host embeds it (a test checks).
//!
//! Storage-touching code (`sessions`, `agents`, `history::write`,
//! `history::load`, `locks`) is kept apart from pure functions (`ids`,
//! `clock`, `history::messages`, `history::prepare`, `history::timeline`,
//! `history::repair`), which are unit-tested natively.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod agents;
mod clock;
mod error;
mod exports_impl;
mod history;
mod ids;
mod json;
mod locks;
mod prelude;
mod schema;
mod sessions;
mod store;
#[cfg(target_arch = "wasm32")]
mod wasm_rt;

/// Bindings generated from `wit/` for the `session-logic` world.
#[allow(missing_docs)]
pub(crate) mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "session-logic",
        additional_derives: [PartialEq],
        // No static constructors to run (no_std, no wasi-libc start-up).
        disable_run_ctors_once_workaround: true,
    });
}

/// The component: every exported interface is implemented on this type.
pub struct Component;

// Native builds (unit tests, clippy) skip the exports: their symbol names
// (`nexau:session/...#...`) are only valid in a wasm module.
#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
