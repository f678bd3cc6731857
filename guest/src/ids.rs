//! Id validation and id generation (`sess_`, `agent_`, `act_`, `msg_`).

use crate::error::{Res, invalid};
use crate::prelude::*;

use nexau_session_ids::ID_RULE;
pub use nexau_session_ids::is_valid_id;

/// Checks the id named `field`; the error names the field.
#[inline(never)]
pub fn check(field: &str, s: &str) -> Res<()> {
    if is_valid_id(s) { Ok(()) } else { Err(invalid(cat(&[field, ": ", ID_RULE]))) }
}

/// Checks an optional id named `field`.
pub fn check_opt(field: &str, s: Option<&str>) -> Res<()> {
    match s {
        Some(s) => check(field, s),
        None => Ok(()),
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The 26-character Crockford base32 ULID of `ms` (48 bits) and 80 random bits.
pub fn encode_ulid(ms: u64, random: [u8; 10]) -> String {
    let mut v: u128 = u128::from(ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        v |= u128::from(*b) << (72 - 8 * i);
    }
    let mut out = String::with_capacity(26);
    for i in (0..26).rev() {
        out.push(char::from(CROCKFORD[((v >> (5 * i)) & 31) as usize]));
    }
    out
}

/// Fills `buf` with random bytes from WASI random.
#[cfg(target_arch = "wasm32")]
fn random_bytes(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let r = wasip2::random::random::get_random_u64().to_le_bytes();
        for (b, r) in chunk.iter_mut().zip(r) {
            *b = r;
        }
    }
}

/// Fills `buf` with random bytes (native builds, for tests: std's random
/// hash keys mixed with a counter and the clock).
#[cfg(not(target_arch = "wasm32"))]
fn random_bytes(buf: &mut [u8]) {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for chunk in buf.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_i64(crate::clock::now_ns());
        chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
    }
}

/// `{prefix}{ULID}` for the current time.
#[inline(never)]
pub fn new_ulid_id(prefix: &str) -> String {
    let mut r = [0u8; 10];
    random_bytes(&mut r);
    let mut s = String::with_capacity(prefix.len() + 26);
    s.push_str(prefix);
    s.push_str(&encode_ulid(crate::clock::ns_to_ms(crate::clock::now_ns()), r));
    s
}

/// `agent_{8 hex}`.
pub fn new_agent_id() -> String {
    let mut r = [0u8; 4];
    random_bytes(&mut r);
    let mut s = String::with_capacity(14);
    s.push_str("agent_");
    for b in r {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_ids() {
        assert!(is_valid_id("user_123"));
        assert!(is_valid_id("a.b:c@d-e_F9"));
        assert!(is_valid_id(&"x".repeat(128)));
        assert!(!is_valid_id(&"x".repeat(129)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("../etc"));
        assert!(!is_valid_id("a/b"));
        assert!(!is_valid_id("é"));
        assert!(!is_valid_id("a'; DROP TABLE sessions; --"));
        let e = check("user_id", "").unwrap_err();
        assert_eq!(e, invalid("user_id: 1-128 chars of [A-Za-z0-9_.:@-]"));
        assert!(check_opt("run_id", None).is_ok());
        assert!(check_opt("run_id", Some("bad id")).is_err());
    }

    #[test]
    fn encodes_ulids() {
        assert_eq!(encode_ulid(0, [0; 10]), "00000000000000000000000000");
        assert_eq!(encode_ulid(0xFFFF_FFFF_FFFF, [0xFF; 10]), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        // Known value: 1469918176385 ms is "01ARYZ6S41" (the ULID spec's example time).
        assert!(encode_ulid(1_469_918_176_385, [0; 10]).starts_with("01ARYZ6S41"));
        assert_eq!(encode_ulid(1, [0; 10]), "00000000010000000000000000");
    }

    #[test]
    fn generates_ids() {
        let a = new_ulid_id("act_");
        assert_eq!(a.len(), 30);
        assert!(a.starts_with("act_"));
        assert!(a[4..].bytes().all(|b| CROCKFORD.contains(&b)));
        assert!(is_valid_id(&a));
        assert_ne!(new_ulid_id("msg_"), new_ulid_id("msg_"));
        let g = new_agent_id();
        assert_eq!(g.len(), 14);
        assert!(g[6..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Later milliseconds sort after earlier ones whatever the random part.
        assert!(encode_ulid(1_000, [0; 10]) > encode_ulid(999, [0xFF; 10]));
    }
}
