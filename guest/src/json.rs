//! A small JSON value with a strict parser and a compact writer.
//!
//! Objects keep their keys in document order; numbers keep their exact text.
//! Kept in-house (instead of serde_json) to keep the component small.

use crate::prelude::*;

/// Deepest nesting accepted by [`parse`].
const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as its (validated) source text.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in document order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_arr(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// A string value.
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_owned())
    }

    /// The compact JSON text of this value.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Appends the compact JSON text of this value to `out`.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_str(s, out),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Sets `key` of the object `m` (replacing the first member of that name).
pub fn set(m: &mut Vec<(String, Json)>, key: &str, v: Json) {
    match m.iter_mut().find(|(k, _)| k == key) {
        Some((_, old)) => *old = v,
        None => m.push((key.to_owned(), v)),
    }
}

/// An object from (key, value) pairs.
#[cfg(test)]
pub fn obj(members: Vec<(&str, Json)>) -> Json {
    Json::Obj(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The length of the longest start of `b` that a JSON string holds as it
/// is: no quote, no backslash, no control character. Eight bytes a step:
/// compiled to wasm, a loop over single bytes costs about 30 instructions a
/// byte (per byte of every message written or parsed).
fn plain_run(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    for word in b.chunks_exact(8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        let (quote, slash) = (w ^ (ONES * u64::from(b'"')), w ^ (ONES * u64::from(b'\\')));
        // A byte's high bit is set here only if some byte is zero (a quote
        // or backslash, XORed away) or below 0x20: exact as to whether any is.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v;
        if (zero(quote) | zero(slash) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH != 0 {
            break;
        }
        i += 8;
    }
    let rest = b.get(i..).unwrap_or_default();
    i + rest.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\').unwrap_or(rest.len())
}

// A one-byte str is copied as it is; a char is UTF-8 encoded first, out of
// line in this size-optimized build.
#[allow(clippy::single_char_add_str)]
fn write_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push_str("\"");
    // Runs of bytes that need no escape are copied whole; every byte that
    // does is ASCII, so each run ends on a character boundary.
    let mut at = 0;
    loop {
        let rest = s.get(at..).unwrap_or_default();
        let run = plain_run(rest.as_bytes());
        out.push_str(rest.get(..run).unwrap_or_default());
        at += run;
        let Some(&b) = rest.as_bytes().get(run) else { break };
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => "\\u00",
        };
        out.push_str(escape);
        if escape == "\\u00" {
            push_ascii(out, &[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        at += 1;
    }
    out.push_str("\"");
}

/// Why [`parse`] failed, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// The byte offset of the problem.
    pub at: usize,
}

/// Parses one JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json, ParseError> {
    let mut p = Parser { b: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(p.err());
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self) -> ParseError {
        ParseError { at: self.i }
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn lit(&mut self, word: &[u8], v: Json) -> Result<Json, ParseError> {
        if self.b.get(self.i..).is_some_and(|rest| rest.starts_with(word)) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err());
        }
        self.ws();
        match self.peek() {
            Some(b'n') => self.lit(b"null", Json::Null),
            Some(b't') => self.lit(b"true", Json::Bool(true)),
            Some(b'f') => self.lit(b"false", Json::Bool(false)),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.eat(b']') {
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b']') {
                        return Ok(Json::Arr(a));
                    }
                    if !self.eat(b',') {
                        return Err(self.err());
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.eat(b'}') {
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err());
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(self.err());
                    }
                    m.push((k, self.value(depth + 1)?));
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(Json::Obj(m));
                    }
                    if !self.eat(b',') {
                        return Err(self.err());
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err()),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Json, ParseError> {
        let start = self.i;
        self.eat(b'-');
        if self.eat(b'0') {
            if matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err());
            }
        } else if self.digits() == 0 {
            return Err(self.err());
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(self.err());
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        // Only ASCII was consumed.
        let mut text = String::with_capacity(self.i - start);
        push_ascii(&mut text, self.b.get(start..self.i).unwrap_or_default());
        Ok(Json::Num(text))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err()),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else { return Err(self.err()) };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(self.err()) };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return Err(self.err());
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err());
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            char::from_u32(cp).ok_or(ParseError { at: self.i })?
                        }
                        _ => return Err(self.err()),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1F => return Err(self.err()),
                _ => {
                    // The run of plain bytes that starts here, copied at once.
                    let start = self.i - 1;
                    self.i += plain_run(self.b.get(self.i..).unwrap_or_default());
                    out.extend_from_slice(self.b.get(start..self.i).unwrap_or_default());
                }
            }
        }
        // SAFETY: the input is a &str, the bytes copied from it run from one
        // ASCII quote or escape to the next (whole characters), and escapes
        // are encoded as UTF-8.
        Ok(unsafe { String::from_utf8_unchecked(out) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight bytes at a time finds what one byte at a time finds: each
    /// byte a string must escape, and the bytes next to it (0x20 above a
    /// control character, where the subtraction borrows), at every offset,
    /// among ASCII and multi-byte UTF-8.
    #[test]
    fn plain_runs_end_at_the_first_byte_a_string_escapes() {
        let one_by_one = |b: &[u8]| b.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\').unwrap_or(b.len());
        let fillers: [&[u8]; 3] = [b"abcdefghijklmnopqrstuvwx", "é€😀é€😀é€😀".as_bytes(), b"                        "];
        for filler in fillers {
            for special in [0u8, 0x01, 0x09, 0x0a, 0x1f, b'"', b'\\'] {
                for at in 0..filler.len() {
                    for next in [0x20u8, 0x21, 0x7f, 0x80, 0xff] {
                        let mut b = filler.to_vec();
                        b.insert(at, special);
                        b.insert(at + 1, next);
                        assert_eq!(plain_run(&b), one_by_one(&b), "{special:#x} at {at} in {b:?}");
                        assert_eq!(plain_run(b.get(at + 1..).unwrap()), one_by_one(b.get(at + 1..).unwrap()));
                    }
                }
            }
            assert_eq!(plain_run(filler), filler.len());
        }
        for byte in 0..=255u8 {
            let b = [b'a', b'a', b'a', b'a', b'a', b'a', b'a', byte, b'a'];
            assert_eq!(plain_run(&b), one_by_one(&b), "{byte:#x}");
        }
    }

    fn round(s: &str) -> String {
        parse(s).unwrap().dump()
    }

    #[test]
    fn parses_and_writes_back() {
        assert_eq!(
            round(r#" {"b":1,"a":[true,false,null,-0.5e+3,"x"]} "#),
            r#"{"b":1,"a":[true,false,null,-0.5e+3,"x"]}"#
        );
        assert_eq!(round(r#""\u00e9\ud83d\ude00\n\"\\\/""#), "\"é😀\\n\\\"\\\\/\"");
        assert_eq!(round(r#""\u0001""#), r#""\u0001""#);
        assert_eq!(round("[]"), "[]");
        assert_eq!(round("{}"), "{}");
        assert_eq!(parse("12").unwrap(), Json::Num("12".into()));
    }

    #[test]
    fn rejects_what_is_not_json() {
        for bad in [
            "",
            "[",
            "[1,]",
            "{\"a\"}",
            "{a:1}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\ud800\"",
            "[1] x",
            "{\"a\":1,}",
            "\"abc",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).is_err());
        assert_eq!(parse("[1, x]").unwrap_err(), ParseError { at: 4 });
    }

    #[test]
    fn agrees_with_serde_json() {
        let doc = r#"{"id":"m1","role":"user","content":[{"type":"text","text":"a \"q\" \t é"}],"n":[1,2.5,-3e-2],"o":{"z":{},"y":[]}}"#;
        let ours: serde_json::Value = serde_json::from_str(&parse(doc).unwrap().dump()).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(doc).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn strings_with_escapes_between_plain_runs_round_trip() {
        // Plain runs of every width (ASCII, 2-, 3- and 4-byte characters) cut
        // by each kind of escape, written and read against serde_json.
        let pieces = ["a", "é", "€", "😀", "\"", "\\", "\n", "\r", "\t", "\u{1}", "\u{1f}", "/", " "];
        let mut x: u32 = 7;
        for len in 0..200 {
            let text: String = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    pieces[(x >> 16) as usize % pieces.len()]
                })
                .collect();
            let written = Json::Str(text.clone()).dump();
            assert_eq!(serde_json::from_str::<String>(&written).unwrap(), text);
            assert_eq!(parse(&serde_json::to_string(&text).unwrap()).unwrap(), Json::Str(text.clone()));
            assert_eq!(parse(&written).unwrap(), Json::Str(text));
        }
    }

    #[test]
    fn object_helpers() {
        let mut v = obj(vec![("a", Json::Null)]);
        if let Json::Obj(m) = &mut v {
            set(m, "a", Json::str("x"));
            set(m, "b", Json::Bool(true));
        }
        assert_eq!(v.dump(), r#"{"a":"x","b":true}"#);
        assert_eq!(v.get("a").and_then(Json::as_str), Some("x"));
        assert!(v.get("c").is_none());
    }
}
