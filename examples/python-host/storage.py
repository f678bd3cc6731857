"""An in-memory `nexau:session/storage` for one tenant, written from
`wit/README.md` (sections 2 and 3): filters, value order, values in and out,
inserts, updates, `apply` with `conflict(i)` and `duplicate-key`.

Values travel as wasmtime-py gives them: a `value` is a
`Variant(tag, payload)` (`null`, `boolean`, `integer`, `float`, `text`,
`json`, `bytes`, `timestamp`), a record an object with its WIT field names as
attributes. The store keeps every cell as the variant of its column's type.
"""

import copy
import json
import re
import struct
from datetime import datetime, timedelta, timezone

from wasmtime.component import Record, Variant

NULL = Variant("null")


class StorageError(Exception):
    """A `storage-error`: `kind` is its case, `payload` its value."""

    def __init__(self, kind, payload):
        super().__init__(f"{kind}: {payload}")
        self.variant = Variant(kind, payload)


def invalid(message):
    return StorageError("invalid", message)


def record(**fields):
    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def field(r, name):
    return getattr(r, name)


# --- timestamps (README §3, "Values in and out") -----------------------------

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# 2262-04-11T23:47:16.854775807Z, the last instant of a signed 64-bit nanosecond count.
_LAST_NS = 2**63 - 1


def canonical_timestamp(text):
    """RFC 3339 text (`Z`, any offset, or none for UTC) as
    `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds, truncated)."""
    m = _RFC3339.match(text)
    if not m:
        raise invalid(f"not an RFC 3339 timestamp: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or ".0")[1:]
    nanos = int((fraction + "000000000")[:9])
    try:
        t = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError as e:
        raise invalid(f"not a valid instant: {text!r} ({e})") from None
    offset = m.group(8)
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        t -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    delta = t - _EPOCH
    ns = (delta.days * 86400 + delta.seconds) * 10**9 + nanos
    if ns < 0 or ns > _LAST_NS:
        raise invalid(
            f"{text!r} is outside 1970-01-01T00:00:00Z ..= 2262-04-11T23:47:16.854775807Z"
        )
    micros = (ns % 10**9) // 1000
    return (_EPOCH + timedelta(seconds=ns // 10**9)).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


# --- values -------------------------------------------------------------------


def fit(kind, nullable, value, column):
    """`value` as the variant of a `kind` column, or `invalid`."""
    tag, payload = value.tag, value.payload
    if tag == "null":
        if not nullable:
            raise invalid(f"column {column} is not nullable")
        return NULL
    if tag == kind:
        if kind == "timestamp":
            return Variant("timestamp", canonical_timestamp(payload))
        if kind == "float" and (payload != payload or payload in (float("inf"), float("-inf"))):
            raise invalid(f"column {column}: a float must be finite")
        return value
    if kind == "float" and tag == "integer":
        return Variant("float", float(payload))
    if kind == "timestamp" and tag == "text":
        return Variant("timestamp", canonical_timestamp(payload))
    if kind == "json" and tag == "text":
        try:
            json.loads(payload)
        except ValueError:
            raise invalid(f"column {column}: not JSON") from None
        return Variant("json", payload)
    raise invalid(f"column {column} is {kind}, got {tag}")


def sort_key(value):
    """Values of one column in the order README §3 gives: text, JSON and
    timestamps as UTF-8 bytes, numbers numerically, false before true, bytes
    lexicographically."""
    if value.tag in ("text", "json", "timestamp"):
        return value.payload.encode("utf-8")
    if value.tag == "bytes":
        return bytes(value.payload)
    return value.payload


# --- filters ------------------------------------------------------------------


def check_filter(table, nodes):
    """Node indexes must point to earlier nodes, each used once, all
    reachable from the root (the last node); fields must be columns; null is
    never a comparison value."""
    used = set()
    for i, node in enumerate(nodes):
        refs = []
        if node.tag in ("and", "or"):
            refs = list(node.payload)
        elif node.tag == "not":
            refs = [node.payload]
        else:
            name = node.payload if node.tag == "is-null" else field(node.payload, "field")
            table.column(name)
            values = [field(node.payload, "value")] if node.tag == "compare" else (
                field(node.payload, "values") if node.tag == "in-list" else [])
            if any(v.tag == "null" for v in values):
                raise invalid("comparison with null never matches; use is-null")
        for r in refs:
            if r >= i or r in used:
                raise invalid(f"filter node {i} refers to node {r}")
            used.add(r)
    if nodes and len(used) != len(nodes) - 1:
        raise invalid("a filter node is not reachable from the root")


def evaluate(table, nodes, row):
    """SQL's three-valued logic: True, False or None (unknown)."""
    if not nodes:
        return True

    def node(i):
        n = nodes[i]
        if n.tag == "compare":
            cell = row[field(n.payload, "field")]
            if cell.tag == "null":
                return None
            kind, _ = table.column(field(n.payload, "field"))
            a, b = sort_key(cell), sort_key(fit(kind, True, field(n.payload, "value"), "filter"))
            op = field(n.payload, "op")
            return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
        if n.tag == "in-list":
            cell = row[field(n.payload, "field")]
            if cell.tag == "null":
                return None
            kind, _ = table.column(field(n.payload, "field"))
            return any(sort_key(cell) == sort_key(fit(kind, True, v, "filter")) for v in field(n.payload, "values"))
        if n.tag == "is-null":
            return row[n.payload].tag == "null"
        if n.tag == "not":
            v = node(n.payload)
            return None if v is None else not v
        values = [node(j) for j in n.payload]
        if n.tag == "and":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)

    return node(len(nodes) - 1)


# --- tables -------------------------------------------------------------------


class Table:
    def __init__(self, schema):
        self.name = schema.name
        self.columns = [(c.name, c.kind, c.nullable) for c in schema.columns]
        self.primary_key = list(field(schema, "primary-key"))
        self.unique = [list(i.columns) for i in schema.indexes if i.unique]
        self.rows = []

    def same_as(self, schema):
        return (
            self.columns == [(c.name, c.kind, c.nullable) for c in schema.columns]
            and self.primary_key == list(field(schema, "primary-key"))
        )

    def column(self, name):
        for c, kind, nullable in self.columns:
            if c == name:
                return kind, nullable
        raise invalid(f"table {self.name} has no column {name}")

    def matching(self, flt):
        nodes = list(flt.nodes)
        check_filter(self, nodes)
        return [r for r in self.rows if evaluate(self, nodes, r) is True]

    def check_keys(self):
        """Primary key and unique indexes: no two rows share one (a key with
        a NULL part never collides)."""
        for key in [self.primary_key] + self.unique:
            seen = set()
            for r in self.rows:
                cells = [r[c] for c in key]
                if any(c.tag == "null" for c in cells):
                    continue
                k = tuple(sort_key(c) for c in cells)
                if k in seen:
                    raise StorageError("duplicate-key", f"{self.name}: ({', '.join(key)}) already holds {k}")
                seen.add(k)


# The number of each `value` case in `packed-rows.kinds` (declaration order).
KINDS = ("null", "boolean", "integer", "float", "text", "json", "bytes", "timestamp")
TEXT_LIKE = ("text", "json", "timestamp")


class MemoryStorage:
    """Functions of `storage.wit`: the component calls three
    (`setup-models`, `find-packed`, `apply`); `find` is here for
    `find-packed`, and `insert`, `count`, `update` and `delete` are optional
    for a host."""

    def __init__(self):
        self.tables = {}

    def table(self, name):
        if name not in self.tables:
            raise StorageError("table-not-found", name)
        return self.tables[name]

    def setup_models(self, schemas):
        for s in schemas:
            if s.name in self.tables:
                if not self.tables[s.name].same_as(s):
                    raise invalid(f"table {s.name} is declared differently")
            else:
                self.tables[s.name] = Table(s)

    def find(self, table_name, query):
        table = self.table(table_name)
        rows = table.matching(query.filter)
        for order in reversed(list(field(query, "order-by"))):
            table.column(order.field)
            nulls = [r for r in rows if r[order.field].tag == "null"]
            rest = [r for r in rows if r[order.field].tag != "null"]
            rest.sort(key=lambda r: sort_key(r[order.field]), reverse=order.descending)
            # Ascending puts NULLs first, descending last.
            rows = rest + nulls if order.descending else nulls + rest
        if query.offset is not None:
            rows = rows[query.offset:]
        if query.limit is not None:
            rows = rows[: query.limit]
        # The columns asked for (each checked), or every declared column.
        names = list(query.columns) or [c for c, _, _ in table.columns]
        for c in names:
            table.column(c)
        return record(columns=names, rows=[[r[c] for c in names] for r in rows])

    def find_packed(self, table_name, query):
        """`find`, packed: per cell a kind and a 64-bit word; text-like
        values in one string and bytes in one list, each as the word
        `offset * 2**32 + length` (in UTF-8 bytes for text)."""
        found = self.find(table_name, query)
        kinds, values, text, at, data = [], [], [], 0, bytearray()
        for v in (cell for row in found.rows for cell in row):
            kinds.append(KINDS.index(v.tag))
            if v.tag in TEXT_LIKE:
                raw = v.payload.encode()
                values.append(at << 32 | len(raw))
                text.append(v.payload)
                at += len(raw)
            elif v.tag == "bytes":
                values.append(len(data) << 32 | len(v.payload))
                data.extend(v.payload)
            elif v.tag == "float":
                values.append(struct.unpack("<Q", struct.pack("<d", v.payload))[0])
            elif v.tag in ("integer", "boolean"):
                values.append(int(v.payload) & 0xFFFF_FFFF_FFFF_FFFF)
            else:
                values.append(0)
        return record(columns=found.columns, kinds=bytes(kinds), values=values, text="".join(text), bytes=bytes(data))

    def apply(self, batch):
        saved = copy.copy(self.tables)
        for name, t in saved.items():
            self.tables[name] = copy.copy(t)
            self.tables[name].rows = list(t.rows)
        try:
            return [self._op(i, op) for i, op in enumerate(batch)]
        except StorageError:
            self.tables = saved
            raise

    def _op(self, i, op):
        p = op.payload
        table = self.table(p.table)
        if op.tag == "insert":
            names = list(p.rows.columns)
            if len(set(names)) != len(names):
                raise invalid("a column is named twice")
            kinds = [table.column(n) for n in names]
            for values in p.rows.rows:
                if len(values) != len(names):
                    raise invalid("a row of the wrong width")
                row = {}
                for c, kind, nullable in table.columns:
                    if c in names:
                        j = names.index(c)
                        row[c] = fit(kinds[j][0], kinds[j][1], values[j], c)
                    elif nullable:
                        row[c] = NULL
                    else:
                        raise invalid(f"missing column {c}")
                table.rows.append(row)
            table.check_keys()
            return len(p.rows.rows)
        matched = table.matching(p.filter)
        if op.tag == "update":
            if not p.set:
                raise invalid("an update sets nothing")
            changes = [(a.column, fit(*table.column(a.column), a.value, a.column)) for a in p.set]
            ids = {id(r) for r in matched}
            table.rows = [dict(r, **dict(changes)) if id(r) in ids else r for r in table.rows]
            table.check_keys()
        elif op.tag == "delete":
            ids = {id(r) for r in matched}
            table.rows = [r for r in table.rows if id(r) not in ids]
        # Update and delete counts are rows matched; a check's `expect` is not optional.
        expect = p.expect
        if expect is not None and len(matched) != expect:
            raise StorageError("conflict", i)
        return len(matched)
