//! Rows packed for a trip across the component boundary: each cell as a
//! kind byte and a 64-bit word, every text-like value in one string and
//! every bytes value in one buffer. A [`RowSet`] of `n` text values costs
//! the component `n` allocations, and the runtime a conversion per value,
//! when lowered into it; [`PackedRows`] are five flat lists, copied whole.

use crate::{RowSet, StorageError, Value};

/// The kind byte of each [`Value`] case, as `packed-rows.kinds` numbers
/// them (the order of the WIT `value` variant).
pub mod kind {
    /// SQL NULL.
    pub const NULL: u8 = 0;
    /// A boolean: the word is 0 or 1.
    pub const BOOL: u8 = 1;
    /// An integer: the word is its two's complement.
    pub const INT: u8 = 2;
    /// A float: the word is its IEEE 754 bits.
    pub const FLOAT: u8 = 3;
    /// Text: the word is its span of `text`.
    pub const TEXT: u8 = 4;
    /// A JSON document: the word is its span of `text`.
    pub const JSON: u8 = 5;
    /// Bytes: the word is their span of `bytes`.
    pub const BYTES: u8 = 6;
    /// A timestamp: the word is its span of `text`.
    pub const TIMESTAMP: u8 = 7;
}

/// Rows as flat lists: per cell (row by row, `columns.len()` to a row) a
/// kind and a word, and the text and bytes the spans point into.
///
/// A span word is the byte offset times 2^32 plus the length.
///
/// ```
/// use nexau_session_storage::{PackedRows, RowSet, Value, packed_kind};
///
/// let rows = RowSet { columns: vec!["id".into(), "n".into()], rows: vec![vec![Value::Text("ab".into()), Value::Int(-1)]] };
/// let packed = PackedRows::pack(rows).unwrap();
/// assert_eq!(packed.kinds, [packed_kind::TEXT, packed_kind::INT]);
/// assert_eq!(packed.values, [2, u64::MAX]);
/// assert_eq!(packed.text, "ab");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackedRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Each cell's kind ([`kind`]).
    pub kinds: Vec<u8>,
    /// Each cell's word.
    pub values: Vec<u64>,
    /// The text of every text-like value, back to back.
    pub text: String,
    /// The bytes of every bytes value, back to back.
    pub bytes: Vec<u8>,
}

impl PackedRows {
    /// Packs `rows`; `invalid` when their text or bytes pass 4 GiB (a
    /// span's reach).
    pub fn pack(rows: RowSet) -> Result<Self, StorageError> {
        let text_len = rows.rows.iter().flatten().map(|v| v.as_str().map_or(0, str::len)).sum();
        let cells = rows.rows.len() * rows.columns.len();
        let mut p = PackedRows {
            columns: rows.columns,
            kinds: Vec::with_capacity(cells),
            values: Vec::with_capacity(cells),
            text: String::with_capacity(text_len),
            bytes: Vec::new(),
        };
        let too_long = || StorageError::Invalid("a read of more than 4 GiB of text or bytes cannot be packed".into());
        for value in rows.rows.into_iter().flatten() {
            let (kind, word) = match value {
                Value::Null => (kind::NULL, 0),
                Value::Bool(b) => (kind::BOOL, u64::from(b)),
                Value::Int(i) => (kind::INT, i as u64),
                Value::Float(f) => (kind::FLOAT, f.to_bits()),
                Value::Text(s) => (kind::TEXT, push_text(&mut p.text, &s).ok_or_else(too_long)?),
                Value::Json(s) => (kind::JSON, push_text(&mut p.text, &s).ok_or_else(too_long)?),
                Value::Timestamp(s) => (kind::TIMESTAMP, push_text(&mut p.text, &s).ok_or_else(too_long)?),
                Value::Bytes(b) => {
                    let at = span(p.bytes.len(), b.len()).ok_or_else(too_long)?;
                    p.bytes.extend_from_slice(&b);
                    (kind::BYTES, at)
                }
            };
            p.kinds.push(kind);
            p.values.push(word);
        }
        Ok(p)
    }
}

/// Appends `s` to `text`; its span.
fn push_text(text: &mut String, s: &str) -> Option<u64> {
    let at = span(text.len(), s.len())?;
    text.push_str(s);
    Some(at)
}

/// The span word of `len` bytes at `start`, when it ends within 4 GiB.
fn span(start: usize, len: usize) -> Option<u64> {
    let (start, len) = (u32::try_from(start).ok()?, u32::try_from(len).ok()?);
    start.checked_add(len)?;
    Some(u64::from(start) << 32 | u64::from(len))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The rows `packed` stands for.
    fn unpack(packed: &PackedRows) -> RowSet {
        let range = |w: u64| (w >> 32) as usize..((w >> 32) + (w & 0xffff_ffff)) as usize;
        let values = packed.kinds.iter().zip(&packed.values).map(|(&k, &w)| match k {
            kind::NULL => Value::Null,
            kind::BOOL => Value::Bool(w != 0),
            kind::INT => Value::Int(w as i64),
            kind::FLOAT => Value::Float(f64::from_bits(w)),
            kind::TEXT => Value::Text(packed.text[range(w)].to_owned()),
            kind::JSON => Value::Json(packed.text[range(w)].to_owned()),
            kind::BYTES => Value::Bytes(packed.bytes[range(w)].to_vec()),
            kind::TIMESTAMP => Value::Timestamp(packed.text[range(w)].to_owned()),
            other => panic!("kind {other}"),
        });
        let values: Vec<Value> = values.collect();
        let width = packed.columns.len().max(1);
        RowSet { columns: packed.columns.clone(), rows: values.chunks(width).map(<[Value]>::to_vec).collect() }
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e9f64..1e9).prop_map(Value::Float),
            ".*".prop_map(Value::Text),
            ".*".prop_map(Value::Json),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
            ".*".prop_map(Value::Timestamp),
        ]
    }

    proptest! {
        #[test]
        fn packed_rows_stand_for_the_rows(width in 1usize..5, cells in proptest::collection::vec(value(), 0..40)) {
            let rows: Vec<Vec<Value>> = cells.chunks_exact(width).map(<[Value]>::to_vec).collect();
            let set = RowSet { columns: (0..width).map(|i| format!("c{i}")).collect(), rows };
            let packed = PackedRows::pack(set.clone()).unwrap();
            prop_assert_eq!(packed.kinds.len(), set.rows.len() * width);
            prop_assert_eq!(packed.values.len(), set.rows.len() * width);
            prop_assert_eq!(unpack(&packed), set);
        }
    }
}
