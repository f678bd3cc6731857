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
        let mut p = PackedRows::with_columns(rows.columns);
        p.reserve_exact_for(rows.rows.iter().flatten());
        for value in rows.rows.iter().flatten() {
            p.push_value(value)?;
        }
        Ok(p)
    }

    /// No rows yet, of `columns`: a backend that reads rows cell by cell
    /// packs them as it reads ([`PackedRows::push_value`] and the like),
    /// never holding a [`Value`] per cell.
    ///
    /// ```
    /// use nexau_session_storage::{PackedRows, packed_kind};
    ///
    /// let mut p = PackedRows::with_columns(vec!["id".into(), "n".into()]);
    /// p.push_text(packed_kind::TEXT, "ab")?;
    /// p.push_word(packed_kind::INT, 7);
    /// assert_eq!((p.rows(), p.payload_bytes()), (1, 18));
    /// # Ok::<(), nexau_session_storage::StorageError>(())
    /// ```
    pub fn with_columns(columns: Vec<String>) -> Self {
        PackedRows { columns, ..PackedRows::default() }
    }

    /// Appends a cell whose word is its value: `NULL` (word 0), `BOOL`,
    /// `INT` or `FLOAT` ([`kind`]).
    pub fn push_word(&mut self, kind: u8, word: u64) {
        self.kinds.push(kind);
        self.values.push(word);
    }

    /// Appends a text-like cell (`TEXT`, `JSON` or `TIMESTAMP`); `invalid`
    /// when the text would pass 4 GiB.
    pub fn push_text(&mut self, kind: u8, s: &str) -> Result<(), StorageError> {
        let at = span(self.text.len(), s.len()).ok_or_else(too_long)?;
        self.text.push_str(s);
        self.push_word(kind, at);
        Ok(())
    }

    /// Appends a bytes cell; `invalid` when the bytes would pass 4 GiB.
    pub fn push_bytes(&mut self, b: &[u8]) -> Result<(), StorageError> {
        let at = span(self.bytes.len(), b.len()).ok_or_else(too_long)?;
        self.bytes.extend_from_slice(b);
        self.push_word(kind::BYTES, at);
        Ok(())
    }

    /// Appends `value` as a cell.
    pub fn push_value(&mut self, value: &Value) -> Result<(), StorageError> {
        match value {
            Value::Null => self.push_word(kind::NULL, 0),
            Value::Bool(b) => self.push_word(kind::BOOL, u64::from(*b)),
            Value::Int(i) => self.push_word(kind::INT, *i as u64),
            Value::Float(f) => self.push_word(kind::FLOAT, f.to_bits()),
            Value::Text(s) => self.push_text(kind::TEXT, s)?,
            Value::Json(s) => self.push_text(kind::JSON, s)?,
            Value::Timestamp(s) => self.push_text(kind::TIMESTAMP, s)?,
            Value::Bytes(b) => self.push_bytes(b)?,
        }
        Ok(())
    }

    /// The rows these stand for; `invalid` for an unknown kind, a span
    /// outside the text or bytes (or cutting a character), or a last row
    /// cut short.
    pub fn unpack(&self) -> Result<RowSet, StorageError> {
        let bad = |what: &str| StorageError::Invalid(format!("packed rows: {what}"));
        let range = |w: u64| (w >> 32) as usize..((w >> 32) + (w & 0xffff_ffff)) as usize;
        let text = |w: u64| self.text.get(range(w)).map(str::to_owned).ok_or_else(|| bad("a span outside the text"));
        let width = self.columns.len().max(1);
        if self.kinds.len() != self.values.len() || !self.kinds.len().is_multiple_of(width) {
            return Err(bad("a row cut short"));
        }
        let mut rows = Vec::with_capacity(self.kinds.len() / width);
        for (i, (&k, &w)) in self.kinds.iter().zip(&self.values).enumerate() {
            let value = match k {
                kind::NULL => Value::Null,
                kind::BOOL => Value::Bool(w != 0),
                kind::INT => Value::Int(w as i64),
                kind::FLOAT => Value::Float(f64::from_bits(w)),
                kind::TEXT => Value::Text(text(w)?),
                kind::JSON => Value::Json(text(w)?),
                kind::TIMESTAMP => Value::Timestamp(text(w)?),
                kind::BYTES => {
                    Value::Bytes(self.bytes.get(range(w)).ok_or_else(|| bad("a span outside the bytes"))?.to_vec())
                }
                other => return Err(bad(&format!("unknown kind {other}"))),
            };
            if i.is_multiple_of(width) {
                rows.push(Vec::with_capacity(width));
            }
            if let Some(row) = rows.last_mut() {
                row.push(value);
            }
        }
        Ok(RowSet { columns: self.columns.clone(), rows })
    }

    /// Room for exactly `cells` (the values about to be pushed): their words
    /// and their text.
    pub(crate) fn reserve_exact_for<'v>(&mut self, cells: impl Iterator<Item = &'v Value>) {
        let (n, text) = cells.fold((0, 0), |(n, text), v| (n + 1, text + v.as_str().map_or(0, str::len)));
        self.kinds.reserve(n);
        self.values.reserve(n);
        self.text.reserve(text);
    }

    /// Room for `more` rows the size of those packed so far, a guess capped
    /// at 1 MiB each of text, bytes and words. A backend that packs as it
    /// reads calls this after a read's first row, with how many more its
    /// limit allows: a read of hundreds of rows then copies its text once,
    /// where growing as the rows came copied it again at every doubling.
    ///
    /// ```
    /// use nexau_session_storage::{PackedRows, packed_kind};
    ///
    /// let mut p = PackedRows::with_columns(vec!["m".into()]);
    /// p.push_text(packed_kind::TEXT, "0123456789")?;
    /// p.reserve_rows(99);
    /// assert!(p.text.capacity() >= 1000 && p.kinds.capacity() >= 100);
    /// # Ok::<(), nexau_session_storage::StorageError>(())
    /// ```
    pub fn reserve_rows(&mut self, more: usize) {
        let rows = self.rows().max(1);
        let room = |len: usize| (len / rows).saturating_mul(more).min(RESERVE_CAP);
        let cells = room(self.kinds.len() * 8) / 8;
        self.kinds.reserve(cells);
        self.values.reserve(cells);
        self.text.reserve(room(self.text.len()));
        self.bytes.reserve(room(self.bytes.len()));
    }

    /// Complete rows so far (cells over columns).
    pub fn rows(&self) -> usize {
        self.kinds.len() / self.columns.len().max(1)
    }

    /// What the rows weigh for a byte budget: their text and bytes, and 8
    /// bytes a cell.
    pub fn payload_bytes(&self) -> usize {
        self.text.len() + self.bytes.len() + 8 * self.kinds.len()
    }
}

/// The most text, bytes and words (in bytes each) [`PackedRows::reserve_rows`]
/// sets aside ahead of the rows: a guess from a first row never reserves more.
const RESERVE_CAP: usize = 1 << 20;

fn too_long() -> StorageError {
    StorageError::Invalid("a read of more than 4 GiB of text or bytes cannot be packed".into())
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

    #[test]
    fn malformed_packed_rows_do_not_unpack() {
        let good = PackedRows::pack(RowSet {
            columns: vec!["a".into(), "b".into()],
            rows: vec![vec![Value::Text("é".into()), Value::Bytes(vec![1])]],
        })
        .unwrap();
        type Spoil = fn(&mut PackedRows);
        let cases: [(&str, Spoil); 5] = [
            ("unknown kind", |p| p.kinds[0] = 9),
            ("outside the text", |p| p.values[0] = 1 << 32 | 2),
            ("outside the bytes", |p| p.values[1] = 2),
            ("cut short", |p| p.columns.push("c".into())),
            ("cut short", |p| p.values.truncate(1)),
        ];
        for (want, spoil) in cases {
            let mut p = good.clone();
            spoil(&mut p);
            let err = p.unpack().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        assert_eq!(good.rows(), 1);
    }

    #[test]
    fn reserving_for_a_limit_without_bound_stays_within_the_cap() {
        let mut p = PackedRows::with_columns(vec!["m".into(), "n".into()]);
        p.push_text(kind::TEXT, &"x".repeat(1000)).unwrap();
        p.push_word(kind::INT, 1);
        p.reserve_rows(usize::MAX);
        assert!(p.text.capacity() >= RESERVE_CAP && p.text.capacity() < 2 * RESERVE_CAP + 1000);
        assert!(p.values.capacity() >= RESERVE_CAP / 8 && p.values.capacity() < RESERVE_CAP);
        assert_eq!((p.rows(), p.text.len()), (1, 1000));
    }

    proptest! {
        #[test]
        fn packed_rows_stand_for_the_rows(width in 1usize..5, cells in proptest::collection::vec(value(), 0..40)) {
            let rows: Vec<Vec<Value>> = cells.chunks_exact(width).map(<[Value]>::to_vec).collect();
            let set = RowSet { columns: (0..width).map(|i| format!("c{i}")).collect(), rows };
            let packed = PackedRows::pack(set.clone()).unwrap();
            prop_assert_eq!(packed.kinds.len(), set.rows.len() * width);
            prop_assert_eq!(packed.values.len(), set.rows.len() * width);
            prop_assert_eq!(packed.unpack().unwrap(), set);
        }
    }
}
