//! Id validation and id generation (`sess_`, `agent_`, `act_`, `msg_`).

use crate::error::{Res, invalid};
use crate::prelude::*;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

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

/// A ULID's 128 bits as its high and low halves (pairs compare as the
/// 128-bit numbers do). Two `u64`s, not a `u128`: wasm has no 128-bit
/// arithmetic, and the helpers that emulate it cost code.
type Bits = (u64, u64);

/// The 26-character Crockford base32 text of a ULID's 128 bits.
fn encode((hi, lo): Bits) -> [u8; 26] {
    let mut out = [0u8; 26];
    for (i, c) in (0..26u32).rev().zip(out.iter_mut()) {
        // The five bits from bit `at` up, which may straddle the halves.
        let at = 5 * i;
        let five = match at {
            64.. => hi >> (at - 64),
            60.. => (lo >> at) | (hi << (64 - at)),
            _ => lo >> at,
        };
        *c = CROCKFORD[(five & 31) as usize];
    }
    out
}

/// The 128 bits of the ULID of `ms` (48 bits) and 80 bits of `hi`:`lo`.
fn ulid_bits(ms: u64, hi: u64, lo: u64) -> Bits {
    (((ms & 0xFFFF_FFFF_FFFF) << 16) | (hi & 0xFFFF), lo)
}

/// 64 random bits from WASI random.
#[cfg(target_arch = "wasm32")]
fn random_u64() -> u64 {
    wasip2::random::random::get_random_u64()
}

/// 64 random bits (native builds, for tests: std's random hash keys mixed
/// with a counter and the clock).
#[cfg(not(target_arch = "wasm32"))]
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_i64(crate::clock::now_ns());
    h.finish()
}

/// The last ULID this instance made, high and low halves (the instance runs
/// one call at a time, so the pair is never torn).
static LAST: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// `{prefix}{ULID}` for the current time. Monotonic within the instance: a
/// ULID not above the previous one (same millisecond and a random source that
/// repeats or runs low, or a clock that stepped back) becomes the previous one
/// plus one, so the ids an instance makes never repeat.
#[inline(never)]
pub fn new_ulid_id(prefix: &str) -> String {
    let fresh = ulid_bits(crate::clock::ns_to_ms(crate::clock::now_ns()), random_u64(), random_u64());
    let (hi, lo) = (LAST[0].load(Relaxed), LAST[1].load(Relaxed));
    let after_last = if lo == u64::MAX { (hi.wrapping_add(1), 0) } else { (hi, lo + 1) };
    let v = fresh.max(after_last);
    LAST[0].store(v.0, Relaxed);
    LAST[1].store(v.1, Relaxed);
    let text = encode(v);
    // SAFETY: every byte of `text` comes from `CROCKFORD` (ASCII).
    cat(&[prefix, unsafe { core::str::from_utf8_unchecked(&text) }])
}

/// `agent_{8 hex}`.
pub fn new_agent_id() -> String {
    let r = random_u64() as u32;
    let mut s = String::with_capacity(14);
    s.push_str("agent_");
    for i in (0..8).rev() {
        s.push(char::from(b"0123456789abcdef"[(r >> (4 * i)) as usize & 15]));
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
        let encode = |bits| String::from_utf8(encode(bits).to_vec()).unwrap();
        assert_eq!(encode(ulid_bits(0, 0, 0)), "00000000000000000000000000");
        assert_eq!(encode(ulid_bits(0xFFFF_FFFF_FFFF, u64::MAX, u64::MAX)), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        // Known value: 1469918176385 ms is "01ARYZ6S41" (the ULID spec's example time).
        assert!(encode(ulid_bits(1_469_918_176_385, 0, 0)).starts_with("01ARYZ6S41"));
        assert_eq!(encode(ulid_bits(1, 0, 0)), "00000000010000000000000000");
        assert_eq!(encode(ulid_bits(0, 1, 0)), "0000000000000G000000000000");
        // The five bits that straddle the halves (bits 60-64).
        assert_eq!(encode((1, 0)), "0000000000000G000000000000");
        assert_eq!(encode((0, 0xF << 60)), "0000000000000F000000000000");
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
        assert!(encode(ulid_bits(1_000, 0, 0)) > encode(ulid_bits(999, u64::MAX, u64::MAX)));
        // Each id of an instance is above the one before, whatever the random source gives.
        let ids: Vec<String> = (0..1000).map(|_| new_ulid_id("")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
