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

/// Appends ASCII bytes to `s` in one copy (a `push` per character costs a
/// call and a capacity check each). Callers pass ASCII only (digits, id
/// alphabets, number text); bytes that are not are left out whole.
#[inline(never)]
pub fn push_ascii(s: &mut String, bytes: &[u8]) {
    if bytes.iter().all(|&b| b < 0x80) {
        // SAFETY: ASCII bytes are whole UTF-8 characters.
        unsafe { s.as_mut_vec() }.extend_from_slice(bytes);
    }
}

/// Appends the decimal digits of `n`, zero-padded to at least `width` digits
/// (iterators, not indexing: no bounds-check panics, which pull in `core::fmt`).
#[inline(never)]
pub fn push_num(s: &mut String, mut n: u64, width: usize) {
    const MAX: usize = 20;
    let mut digits = [0u8; MAX];
    let mut len = 0;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 && len >= width {
            break;
        }
    }
    push_ascii(s, digits.get(MAX - len..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_without_fmt() {
        assert_eq!(cat(&["a", "", "bc"]), "abc");
        assert_eq!(num(0), "0");
        assert_eq!(num(u64::MAX), "18446744073709551615");
        let mut s = String::from("x");
        push_num(&mut s, 7, 3);
        push_ascii(&mut s, b"-ab");
        push_ascii(&mut s, "é".as_bytes());
        assert_eq!(s, "x007-ab");
    }
}
