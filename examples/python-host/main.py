"""Hosts the session-logic component under wasmtime-py with the Python
storage of `storage.py`: creates a session, appends two messages, loads the
history, and shows a lock held by one holder refusing another.

    python main.py [COMPONENT.wasm]
"""

import json
import sys
from pathlib import Path

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, Variant

from storage import MemoryStorage, StorageError, record

ROOT = Path(__file__).resolve().parents[2]
# Written by the workspace's build (`host/build.rs`), e.g. by `cargo build --release`.
DEFAULT_COMPONENT = ROOT / "target/guest-build/wasm32-wasip2/guest/nexau_session_guest.wasm"


def storage_imports(linker, storage):
    """`nexau:session/storage`: the three functions the component calls.
    A storage error is returned as the `err` case (a `Variant`)."""

    def guarded(f):
        def call(_store, *args):
            try:
                return f(*args)
            except StorageError as e:
                return e.variant

        return call

    with linker.root() as root:
        with root.add_instance("nexau:session/storage@0.1.0") as inst:
            inst.add_func("setup-models", guarded(storage.setup_models))
            inst.add_func("find-packed", guarded(storage.find_packed))
            inst.add_func("apply", guarded(storage.apply))


class SessionLogic:
    """The component's exports, called by interface and name."""

    def __init__(self, wasm_path):
        engine = Engine()
        self.store = Store(engine)
        self.store.set_wasi(WasiConfig())  # wall clock and random: the host's own
        linker = Linker(engine)
        linker.add_wasip2()
        self.storage = MemoryStorage()
        storage_imports(linker, self.storage)
        component = Component.from_file(engine, str(wasm_path))
        # One instance for the whole script: calls run one at a time.
        self.instance = linker.instantiate(self.store, component)

    def call(self, interface, name, *args):
        iface = self.instance.get_export_index(self.store, f"nexau:session/{interface}@0.1.0")
        func = self.instance.get_func(self.store, self.instance.get_export_index(self.store, name, iface))
        result = func(self.store, *args)
        func.post_return(self.store)
        # `result<T, session-error>`: a Variant when both sides are records,
        # else the ok value itself or the error record.
        if isinstance(result, Variant) and result.tag in ("ok", "err"):
            if result.tag == "err":
                raise RuntimeError(f"{interface}.{name}: {error_text(result.payload)}")
            return result.payload
        if isinstance(result, Record) and hasattr(result, "current-version"):
            raise RuntimeError(f"{interface}.{name}: {error_text(result)}")
        return result


def error_text(e):
    return f"{e.kind}: {e.message}"


def main():
    wasm = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_COMPONENT
    logic = SessionLogic(wasm)
    logic.call("sessions", "setup-models")
    session = logic.call("sessions", "get-or-create", "alice", None)
    sid = getattr(session, "session-id")
    print(f"session {sid} of user alice")
    agent = logic.call("sessions", "ensure-agent", "alice", sid, None, "assistant")
    ref = record(user_id="alice", session_id=sid, agent_id=getattr(agent, "agent-id"))

    messages = [
        {"role": "user", "content": "Hello, I am Ada."},
        {"role": "assistant", "content": [{"type": "text", "text": "Nice to meet you, Ada."}]},
    ]
    options = record(run_id=None, idempotency_key=None, fence=None)
    receipt = logic.call("history", "write", ref, Variant("append", json.dumps(messages)), options)
    print(f"appended as action {getattr(receipt, 'action-id')} (seq {receipt.seq})")

    history = json.loads(logic.call("history", "load", ref, record(last=None)))
    print("history:")
    for m in history:
        text = " ".join(b.get("text", "") for b in m["content"] if b["type"] == "text")
        print(f"  {m['role']}: {text}")

    first = logic.call("locks", "acquire", ref, "host-a", None, 30_000)
    print(f"lock: host-a {first.tag}, token {first.payload.token}")
    second = logic.call("locks", "acquire", ref, "host-b", None, 30_000)
    lease = second.payload
    print(f"lock: host-b {second.tag} (holder {getattr(lease, 'holder-id')}, token {lease.token})")


if __name__ == "__main__":
    main()
