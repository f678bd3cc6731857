//! Id checks on the host side, with the component's own rule
//! ([`nexau_session_ids`]): a command checks every id it was given before it
//! writes anything, so bad input changes nothing.

pub use nexau_session_ids::{ID_RULE, MAX_ID_LEN, is_valid_id};

use crate::{Error, Result};

/// Checks the id named `field`; the error names the field and the rule.
///
/// ```
/// use nexau_session::ids::check;
/// assert!(check("user_id", "alice").is_ok());
/// assert_eq!(check("agent_id", "a b").unwrap_err().to_string(), "agent_id: 1-128 chars of [A-Za-z0-9_.:@-], got \"a b\"");
/// ```
pub fn check(field: &str, value: &str) -> Result<()> {
    if is_valid_id(value) {
        Ok(())
    } else {
        let shown: String = value.chars().take(40).collect();
        let more = if shown.len() < value.len() { "…" } else { "" };
        Err(Error::Invalid(format!("{field}: {ID_RULE}, got {shown:?}{more}")))
    }
}

/// Checks an optional id named `field`.
pub fn check_opt(field: &str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| check(field, v))
}
