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
pub fn num(n: u64) -> String {
    let mut s = String::new();
    push_num(&mut s, n, 1);
    s
}

/// Appends the decimal digits of `n`, zero-padded to at least `width` digits
/// (iterators, not indexing: no bounds-check panics, which pull in `core::fmt`).
#[inline(never)]
pub fn push_num(s: &mut String, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    for d in digits.iter_mut() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 && len >= width {
            break;
        }
    }
    for &d in digits.iter().take(len).rev() {
        s.push(char::from(d));
    }
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
