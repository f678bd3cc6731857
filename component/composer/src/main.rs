//! Composes `nexau-session.wasm`: `composer STORAGE LOGIC COMMAND OUT`.
//! storage → session logic → command, and storage's `store` → command; the
//! command's exports (`wasi:cli/run`) are the composition's, and the WASI
//! imports stay imports for the runtime to supply. Run by
//! `component/build.rs`; any failure is one line on stderr and exit 1.

use std::path::Path;
use std::process::ExitCode;

use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [storage, logic, command, out] = args.as_slice() else {
        eprintln!("usage: composer STORAGE.wasm LOGIC.wasm COMMAND.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("reading {p}: {e}"));
    let composed = (|| -> Result<Vec<u8>, String> { compose(read(storage)?, read(logic)?, read(command)?) })();
    match composed.and_then(|bytes| std::fs::write(Path::new(out), bytes).map_err(|e| format!("writing {out}: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("composer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The composition of the three components' bytes.
fn compose(storage: Vec<u8>, logic: Vec<u8>, command: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut graph = CompositionGraph::new();
    let register = |graph: &mut CompositionGraph, name: &str, bytes: Vec<u8>| -> Result<PackageId, String> {
        let package = Package::from_bytes(name, None, bytes, graph.types_mut())
            .map_err(|e| format!("{name} is not a component: {e:#}"))?;
        graph.register_package(package).map_err(|e| format!("registering {name}: {e}"))
    };
    let storage = register(&mut graph, "nexau:wasi-storage", storage)?;
    let logic = register(&mut graph, "nexau:session-logic", logic)?;
    let command = register(&mut graph, "nexau:command", command)?;

    let storage_node = graph.instantiate(storage);
    let logic_node = graph.instantiate(logic);
    let command_node = graph.instantiate(command);
    // Each instance's imports, filled from the instances before it that export them.
    plug(&mut graph, logic, logic_node, &[(storage, storage_node)])?;
    plug(&mut graph, command, command_node, &[(logic, logic_node), (storage, storage_node)])?;

    let exports: Vec<String> = graph.types()[graph[command].ty()].exports.keys().cloned().collect();
    for name in exports {
        let export = graph.alias_instance_export(command_node, &name).map_err(|e| format!("{name}: {e}"))?;
        graph.export(export, &name).map_err(|e| format!("exporting {name}: {e}"))?;
    }
    graph.encode(EncodeOptions::default()).map_err(|e| format!("encoding the composition: {e:#}"))
}

/// Gives `node` (an instance of `package`) every import that one of
/// `providers` exports under the same name.
fn plug(
    graph: &mut CompositionGraph,
    package: PackageId,
    node: NodeId,
    providers: &[(PackageId, NodeId)],
) -> Result<(), String> {
    let imports: Vec<String> = graph.types()[graph[package].ty()].imports.keys().cloned().collect();
    for name in imports {
        let provider =
            providers.iter().find(|(p, _)| graph.types()[graph[*p].ty()].exports.contains_key(&name)).map(|(_, n)| *n);
        if let Some(provider) = provider {
            let export = graph.alias_instance_export(provider, &name).map_err(|e| format!("{name}: {e}"))?;
            graph.set_instantiation_argument(node, &name, export).map_err(|e| format!("wiring {name}: {e:#}"))?;
        }
    }
    Ok(())
}
