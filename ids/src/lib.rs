//! The id rule of nexau-session, in one place: the session-logic component
//! enforces it on every call, and the host checks a command's ids with it
//! before anything is written.
//!
//! ```
//! use nexau_session_ids::{is_valid_id, ID_RULE};
//! assert!(is_valid_id("sess_01JABC"));
//! assert!(!is_valid_id("a b"));
//! assert_eq!(ID_RULE, "1-128 chars of [A-Za-z0-9_.:@-]");
//! ```

#![no_std]

/// Longest accepted id, in bytes (every accepted character is one byte).
pub const MAX_ID_LEN: usize = 128;

/// The rule in words, for error messages.
pub const ID_RULE: &str = "1-128 chars of [A-Za-z0-9_.:@-]";

/// Whether `s` is 1..=128 characters of `[A-Za-z0-9_.:@-]`: safe in a file
/// name, a URL path segment and a log line, and never an SQL fragment.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'@' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        for good in ["user_123", "a.b:c@d-e_F9", "x"] {
            assert!(is_valid_id(good), "{good}");
        }
        let long = [b'x'; MAX_ID_LEN + 1];
        let long = core::str::from_utf8(&long).unwrap();
        assert!(is_valid_id(&long[..MAX_ID_LEN]));
        for bad in ["", long, "a b", "../etc", "a/b", "é", "a'; DROP TABLE sessions; --", "x\n"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }
}
