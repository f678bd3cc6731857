//! Seals compiled artifacts with a keyed MAC (HMAC-SHA256), so the cache
//! loads only what it wrote itself: a file planted by anyone without the
//! per-user key cannot carry a valid tag.

use sha2::{Digest, Sha256};

/// The first bytes of a sealed artifact (format version 1).
const MAGIC: &[u8; 8] = b"NXSCWA01";

/// The length of the key and of a tag.
pub(crate) const KEY_LEN: usize = 32;

const BLOCK: usize = 64;

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`.
fn hmac(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; KEY_LEN] {
    let mut padded = [0u8; BLOCK];
    padded[..KEY_LEN].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(padded.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(padded.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The tag of `payload` stored under `name` (the name binds the artifact to
/// the component and engine it was compiled for).
fn tag(key: &[u8; KEY_LEN], name: &str, payload: &[u8]) -> [u8; KEY_LEN] {
    hmac(key, &[MAGIC, &(name.len() as u64).to_le_bytes(), name.as_bytes(), payload])
}

/// `payload` with a header carrying its tag.
pub(crate) fn seal(key: &[u8; KEY_LEN], name: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + KEY_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&tag(key, name, payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a sealed artifact, or why it is not trusted.
pub(crate) fn open<'a>(key: &[u8; KEY_LEN], name: &str, sealed: &'a [u8]) -> Result<&'a [u8], &'static str> {
    let rest = sealed.strip_prefix(MAGIC.as_slice()).ok_or("not a sealed artifact (bad header)")?;
    if rest.len() < KEY_LEN {
        return Err("truncated artifact");
    }
    let (got, payload) = rest.split_at(KEY_LEN);
    let want = tag(key, name, payload);
    // Compared in constant time: every byte is looked at.
    let diff = got.iter().zip(want.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 { Ok(payload) } else { Err("the checksum (HMAC-SHA256 tag) does not match the contents") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2_shape() {
        // RFC 4231 uses a 4-byte key ("Jefe"); HMAC pads short keys with
        // zeros, so the zero-padded 32-byte key gives the same tag.
        let mut key = [0u8; KEY_LEN];
        key[..4].copy_from_slice(b"Jefe");
        let t = hmac(&key, &[b"what do ya want ", b"for nothing?"]);
        let hex: String = t.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn only_untouched_artifacts_open() {
        let key = [7u8; KEY_LEN];
        let sealed = seal(&key, "a.cwasm", b"payload");
        assert_eq!(open(&key, "a.cwasm", &sealed), Ok(&b"payload"[..]));
        assert!(open(&key, "b.cwasm", &sealed).is_err(), "bound to its name");
        assert!(open(&[8u8; KEY_LEN], "a.cwasm", &sealed).is_err(), "bound to the key");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(open(&key, "a.cwasm", &flipped).is_err());
        assert!(open(&key, "a.cwasm", &sealed[..20]).is_err());
        assert!(open(&key, "a.cwasm", b"\0asm....").is_err());
    }
}
