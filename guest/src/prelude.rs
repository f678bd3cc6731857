//! The `alloc` items every module uses (the component is `no_std`).

pub use alloc::borrow::ToOwned;
pub use alloc::string::String;
pub use alloc::vec;
pub use alloc::vec::Vec;

/// Concatenates `parts` (a `format!` without the formatting machinery).
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// The decimal text of `n`.
pub fn num(n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[i..].iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_without_fmt() {
        assert_eq!(cat(&["a", "", "bc"]), "abc");
        assert_eq!(num(0), "0");
        assert_eq!(num(u64::MAX), "18446744073709551615");
    }
}
