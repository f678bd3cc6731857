// An in-memory `nexau:session/storage` for one tenant, written from
// `wit/README.md` (sections 2 and 3): filters, value order, values in and
// out, inserts, updates, `apply` with `conflict(i)` and `duplicate-key`.
//
// jco's shapes: a `value` is `{tag, val}` (`integer` as a BigInt), records
// have camelCase fields, an `option` is a value or `undefined`. A storage
// error is thrown as `{payload: {tag, val}}`; jco returns it as the `err`
// case. The store keeps every cell as the variant of its column's type.

const NULL = { tag: 'null' };

class StorageError {
  constructor(tag, val) {
    this.payload = { tag, val };
  }
}

const invalid = (message) => new StorageError('invalid', message);

// --- timestamps (README §3, "Values in and out") -----------------------------

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/;
// 2262-04-11T23:47:16.854775807Z, the last instant of a signed 64-bit nanosecond count.
const LAST_NS = 2n ** 63n - 1n;

/** RFC 3339 text (`Z`, any offset, or none for UTC) as
 *  `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds, truncated). */
export function canonicalTimestamp(text) {
  const m = RFC3339.exec(text);
  if (!m) throw invalid(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const nanos = BigInt(((m[7] ?? '.0').slice(1) + '000000000').slice(0, 9));
  const day = Date.UTC(y, mo - 1, d);
  const check = new Date(day);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw invalid(`not a valid instant: ${JSON.stringify(text)}`);
  }
  let seconds = BigInt(day / 1000 + h * 3600 + mi * 60 + s);
  const offset = m[8];
  if (offset && offset !== 'Z' && offset !== 'z') {
    const sign = offset[0] === '+' ? 1n : -1n;
    seconds -= sign * BigInt(Number(offset.slice(1, 3)) * 3600 + Number(offset.slice(4, 6)) * 60);
  }
  const ns = seconds * 1_000_000_000n + nanos;
  if (ns < 0n || ns > LAST_NS) {
    throw invalid(`${JSON.stringify(text)} is outside 1970-01-01T00:00:00Z ..= 2262-04-11T23:47:16.854775807Z`);
  }
  const whole = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  const micros = String((ns % 1_000_000_000n) / 1000n).padStart(6, '0');
  return `${whole}.${micros}Z`;
}

// --- values ------------------------------------------------------------------

/** `value` as the variant of a `kind` column, or `invalid`. */
function fit(kind, nullable, value, column) {
  const { tag, val } = value;
  if (tag === 'null') {
    if (!nullable) throw invalid(`column ${column} is not nullable`);
    return NULL;
  }
  if (tag === kind) {
    if (kind === 'timestamp') return { tag, val: canonicalTimestamp(val) };
    if (kind === 'float' && !Number.isFinite(val)) throw invalid(`column ${column}: a float must be finite`);
    return value;
  }
  if (kind === 'float' && tag === 'integer') return { tag: 'float', val: Number(val) };
  if (kind === 'timestamp' && tag === 'text') return { tag: 'timestamp', val: canonicalTimestamp(val) };
  if (kind === 'json' && tag === 'text') {
    try {
      JSON.parse(val);
    } catch {
      throw invalid(`column ${column}: not JSON`);
    }
    return { tag: 'json', val };
  }
  throw invalid(`column ${column} is ${kind}, got ${tag}`);
}

const utf8 = new TextEncoder();

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Two non-null values of one column in the order README §3 gives: text,
 *  JSON and timestamps as UTF-8 bytes (not UTF-16 code units), numbers
 *  numerically, false before true, bytes lexicographically. */
function compare(a, b) {
  switch (a.tag) {
    case 'text':
    case 'json':
    case 'timestamp':
      return compareBytes(utf8.encode(a.val), utf8.encode(b.val));
    case 'bytes':
      return compareBytes(a.val, b.val);
    default:
      return a.val < b.val ? -1 : a.val > b.val ? 1 : 0;
  }
}

const keyOf = (v) => (v.tag === 'bytes' ? `b:${Array.from(v.val).join(',')}` : `${v.tag}:${String(v.val)}`);

// --- tables ------------------------------------------------------------------

class Table {
  constructor(schema) {
    this.name = schema.name;
    this.columns = schema.columns.map((c) => ({ name: c.name, kind: c.kind, nullable: c.nullable }));
    this.primaryKey = [...schema.primaryKey];
    this.unique = schema.indexes.filter((i) => i.unique).map((i) => [...i.columns]);
    this.rows = [];
  }

  sameAs(schema) {
    return JSON.stringify([this.columns, this.primaryKey]) ===
      JSON.stringify([schema.columns.map((c) => ({ name: c.name, kind: c.kind, nullable: c.nullable })), [...schema.primaryKey]]);
  }

  column(name) {
    const c = this.columns.find((c) => c.name === name);
    if (!c) throw invalid(`table ${this.name} has no column ${name}`);
    return c;
  }

  /** Node indexes point to earlier nodes, each used once, all reachable
   *  from the root (the last node); fields are columns; null is never a
   *  comparison value. */
  checkFilter(nodes) {
    const used = new Set();
    nodes.forEach((node, i) => {
      let refs = [];
      if (node.tag === 'and' || node.tag === 'or') refs = [...node.val];
      else if (node.tag === 'not') refs = [node.val];
      else {
        this.column(node.tag === 'is-null' ? node.val : node.val.field);
        const values = node.tag === 'compare' ? [node.val.value] : node.tag === 'in-list' ? node.val.values : [];
        if (values.some((v) => v.tag === 'null')) throw invalid('comparison with null never matches; use is-null');
      }
      for (const r of refs) {
        if (r >= i || used.has(r)) throw invalid(`filter node ${i} refers to node ${r}`);
        used.add(r);
      }
    });
    if (nodes.length > 0 && used.size !== nodes.length - 1) throw invalid('a filter node is not reachable from the root');
  }

  /** SQL's three-valued logic: true, false or null (unknown). */
  evaluate(nodes, row) {
    if (nodes.length === 0) return true;
    const node = (i) => {
      const n = nodes[i];
      switch (n.tag) {
        case 'compare': {
          const cell = row[n.val.field];
          if (cell.tag === 'null') return null;
          const c = compare(cell, fit(this.column(n.val.field).kind, true, n.val.value, 'filter'));
          return { eq: c === 0, ne: c !== 0, lt: c < 0, le: c <= 0, gt: c > 0, ge: c >= 0 }[n.val.op];
        }
        case 'in-list': {
          const cell = row[n.val.field];
          if (cell.tag === 'null') return null;
          const kind = this.column(n.val.field).kind;
          return n.val.values.some((v) => compare(cell, fit(kind, true, v, 'filter')) === 0);
        }
        case 'is-null':
          return row[n.val].tag === 'null';
        case 'not': {
          const v = node(n.val);
          return v === null ? null : !v;
        }
        default: {
          const values = [...n.val].map(node);
          if (n.tag === 'and') return values.includes(false) ? false : values.includes(null) ? null : true;
          return values.includes(true) ? true : values.includes(null) ? null : false;
        }
      }
    };
    return node(nodes.length - 1);
  }

  matching(filter) {
    this.checkFilter(filter.nodes);
    return this.rows.filter((r) => this.evaluate(filter.nodes, r) === true);
  }

  /** Primary key and unique indexes: no two rows share one (a key with a
   *  NULL part never collides). */
  checkKeys() {
    for (const key of [this.primaryKey, ...this.unique]) {
      const seen = new Set();
      for (const r of this.rows) {
        const cells = key.map((c) => r[c]);
        if (cells.some((c) => c.tag === 'null')) continue;
        const k = cells.map(keyOf).join('\u0000');
        if (seen.has(k)) throw new StorageError('duplicate-key', `${this.name}: (${key.join(', ')}) already holds these values`);
        seen.add(k);
      }
    }
  }
}

// --- the storage: the three functions the component calls ---------------------
// (`setupModels`, `findPacked`, `apply`; `find` is here for `findPacked`, and
// `insert`, `count`, `update` and `delete` of `storage.wit` are optional for a
// host: the component imports only these.)

let tables = new Map();

function table(name) {
  const t = tables.get(name);
  if (!t) throw new StorageError('table-not-found', name);
  return t;
}

export function setupModels(schemas) {
  for (const s of schemas) {
    const t = tables.get(s.name);
    if (t) {
      if (!t.sameAs(s)) throw invalid(`table ${s.name} is declared differently`);
    } else {
      tables.set(s.name, new Table(s));
    }
  }
}

export function find(tableName, query) {
  const t = table(tableName);
  let rows = t.matching(query.filter);
  for (const order of [...query.orderBy].reverse()) {
    t.column(order.field);
    const nulls = rows.filter((r) => r[order.field].tag === 'null');
    const rest = rows.filter((r) => r[order.field].tag !== 'null');
    rest.sort((a, b) => compare(a[order.field], b[order.field]) * (order.descending ? -1 : 1));
    // Ascending puts NULLs first, descending last.
    rows = order.descending ? [...rest, ...nulls] : [...nulls, ...rest];
  }
  if (query.offset !== undefined) rows = rows.slice(query.offset);
  if (query.limit !== undefined) rows = rows.slice(0, query.limit);
  // The columns asked for (each checked), or every declared column.
  const names = query.columns.length ? query.columns.map((c) => t.column(c).name) : t.columns.map((c) => c.name);
  return { columns: names, rows: rows.map((r) => names.map((c) => r[c])) };
}

// The number of each `value` case in `packed-rows.kinds` (declaration order).
const KINDS = ['null', 'boolean', 'integer', 'float', 'text', 'json', 'bytes', 'timestamp'];

/**
 * `find`, packed: per cell a kind and a 64-bit word; text-like values in one
 * string and bytes in one list, each as the word `offset * 2^32 + length`
 * (UTF-8 bytes for text, as the component sees the string).
 */
export function findPacked(tableName, query) {
  const { columns, rows } = find(tableName, query);
  const cells = rows.flat();
  const kinds = new Uint8Array(cells.length);
  const values = new BigUint64Array(cells.length);
  const text = [];
  const blobs = [];
  const float = new DataView(new ArrayBuffer(8));
  let at = 0;
  let blobAt = 0;
  cells.forEach((v, i) => {
    kinds[i] = KINDS.indexOf(v.tag);
    const span = (start, len) => (BigInt(start) << 32n) | BigInt(len);
    switch (v.tag) {
      case 'boolean': values[i] = v.val ? 1n : 0n; break;
      case 'integer': values[i] = BigInt.asUintN(64, BigInt(v.val)); break;
      case 'float': float.setFloat64(0, v.val, true); values[i] = float.getBigUint64(0, true); break;
      case 'text': case 'json': case 'timestamp': {
        const len = Buffer.byteLength(v.val, 'utf8');
        values[i] = span(at, len);
        text.push(v.val);
        at += len;
        break;
      }
      case 'bytes': values[i] = span(blobAt, v.val.length); blobs.push(v.val); blobAt += v.val.length; break;
      default: values[i] = 0n;
    }
  });
  return { columns, kinds, values, text: text.join(''), bytes: Buffer.concat(blobs) };
}

function runOp(i, op) {
  const p = op.val;
  const t = table(p.table);
  if (op.tag === 'insert') {
    const names = p.rows.columns;
    if (new Set(names).size !== names.length) throw invalid('a column is named twice');
    const cols = names.map((n) => t.column(n));
    for (const values of p.rows.rows) {
      if (values.length !== names.length) throw invalid('a row of the wrong width');
      const row = {};
      for (const c of t.columns) {
        const j = names.indexOf(c.name);
        if (j >= 0) row[c.name] = fit(cols[j].kind, cols[j].nullable, values[j], c.name);
        else if (c.nullable) row[c.name] = NULL;
        else throw invalid(`missing column ${c.name}`);
      }
      t.rows.push(row);
    }
    t.checkKeys();
    return BigInt(p.rows.rows.length);
  }
  const matched = new Set(t.matching(p.filter));
  if (op.tag === 'update') {
    if (p.set.length === 0) throw invalid('an update sets nothing');
    const changes = Object.fromEntries(p.set.map((a) => {
      const c = t.column(a.column);
      return [a.column, fit(c.kind, c.nullable, a.value, a.column)];
    }));
    t.rows = t.rows.map((r) => (matched.has(r) ? { ...r, ...changes } : r));
    t.checkKeys();
  } else if (op.tag === 'delete') {
    t.rows = t.rows.filter((r) => !matched.has(r));
  }
  // Update and delete count the rows matched; a check's `expect` is not optional.
  if (p.expect !== undefined && BigInt(matched.size) !== BigInt(p.expect)) throw new StorageError('conflict', i);
  return BigInt(matched.size);
}

/** All or nothing: on any error the tables are as they were. */
export function apply(batch) {
  const saved = new Map([...tables].map(([name, t]) => [name, Object.assign(Object.create(Table.prototype), t, { rows: [...t.rows] })]));
  const before = tables;
  tables = saved;
  try {
    return BigUint64Array.from(batch.map((op, i) => runOp(i, op)));
  } catch (e) {
    tables = before;
    throw e;
  }
}
