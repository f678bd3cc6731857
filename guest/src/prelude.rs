//! The `alloc` items every module uses (the component is `no_std`).

pub use alloc::borrow::ToOwned;
pub use alloc::string::String;
pub use alloc::vec;
pub use alloc::vec::Vec;

/// Concatenates `parts` (a `format!` without the formatting machinery).
#[inline(never)]
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Owned copies of `items`.
#[inline(never)]
pub fn strings(items: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for s in items {
        out.push((*s).to_owned());
    }
    out
}

/// The decimal text of `n`.
#[inline(never)]
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
    let mut s = String::with_capacity(digits.len() - i);
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
    s
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
