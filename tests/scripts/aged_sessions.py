"""Writes an export (the `export` format) of N sessions over U users, made from
a one-session export on stdin: in each user, the first half of the sessions
(`old_*`) last updated 2026-01-01, the rest (`new_*`) 2026-03-01. Every row
of the template is copied with the new ids, so each session has as many rows
in each table as the template. Used to measure `cleanup` at scale
(BENCHMARKS.md).

    python3 tests/scripts/aged_sessions.py 10000 100 < template.jsonl > aged.jsonl
"""
import json
import sys

N, U = int(sys.argv[1]), int(sys.argv[2])
OLD, NEW = "2026-01-01T00:00:00.000000Z", "2026-03-01T00:00:00.000000Z"
lines = sys.stdin.read().splitlines()
header, rows = lines[0], [json.loads(line) for line in lines[1:]]
out = [header]
per_user = N // U
for u in range(U):
    for i in range(per_user):
        old = i < per_user // 2
        user, session = f"user{u:03d}", f"{'old' if old else 'new'}_{i:04d}"
        for r in rows:
            row = dict(r["row"])
            row["user_id"], row["session_id"] = user, session
            if r["table"] == "sessions":
                row["created_at"] = OLD
                row["updated_at"] = OLD if old else NEW
            if r["table"] == "agent_run_actions":
                row["action_id"] = f"act_{user}_{session}_{row['seq']}"
            out.append(json.dumps({"table": r["table"], "row": row}, ensure_ascii=False, separators=(",", ":")))
print("\n".join(out))
