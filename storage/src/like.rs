//! `LIKE` patterns, evaluated identically by every backend.
//!
//! A pattern is text in which `%` matches any run of characters (none
//! included), `_` matches exactly one character, and `\` makes the character
//! after it literal (`\%`, `\_`, `\\`); a pattern ending in a lone `\` is
//! refused. Characters are Unicode scalar values and compare exactly; the
//! case-insensitive form folds the ASCII letters `A`-`Z` to `a`-`z` and
//! nothing else, so that SQLite, PostgreSQL, MySQL/MariaDB and the in-memory
//! tables agree on every input whatever their locale.
//!
//! ```
//! use nexau_session_storage::LikePattern;
//! let p = LikePattern::parse(r"50\%_off%").unwrap();
//! assert!(p.matches("50%-off today", false));
//! assert!(!p.matches("50x-off", false));
//! assert!(LikePattern::parse("Ab%").unwrap().matches("aBc", true));
//! assert!(LikePattern::parse(r"ends\").is_err());
//! ```

/// The longest pattern accepted, in bytes (SQLite refuses patterns over
/// 50,000 bytes; a filter is no place for a document anyway).
pub const MAX_LIKE_PATTERN_BYTES: usize = 4096;

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `%`: any run of characters.
    Any,
    /// `_`: one character.
    One,
    /// A literal character.
    Lit(char),
}

/// A parsed `LIKE` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    tokens: Vec<Token>,
}

impl LikePattern {
    /// Parses `pattern` (see the module documentation); the error says why
    /// it is refused.
    pub fn parse(pattern: &str) -> Result<LikePattern, String> {
        if pattern.len() > MAX_LIKE_PATTERN_BYTES {
            return Err(format!("a like pattern takes at most {MAX_LIKE_PATTERN_BYTES} bytes"));
        }
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '%' => Token::Any,
                '_' => Token::One,
                '\\' => match chars.next() {
                    Some(escaped) => Token::Lit(escaped),
                    None => {
                        return Err("a like pattern cannot end with a lone `\\` (write `\\\\` for a backslash)".into());
                    }
                },
                other => Token::Lit(other),
            });
        }
        Ok(LikePattern { tokens })
    }

    /// Whether `text` matches; `fold_ascii` compares ASCII letters without case.
    pub fn matches(&self, text: &str, fold_ascii: bool) -> bool {
        let text: Vec<char> = text.chars().map(|c| fold(c, fold_ascii)).collect();
        let tokens: Vec<Token> = self
            .tokens
            .iter()
            .map(|t| match *t {
                Token::Lit(c) => Token::Lit(fold(c, fold_ascii)),
                other => other,
            })
            .collect();
        // Greedy matching with backtracking to the last `%`: linear in
        // practice, at worst text × pattern.
        let (mut t, mut p) = (0usize, 0usize);
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match tokens.get(p) {
                Some(Token::Any) => {
                    resume = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Token::Lit(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match resume {
                    Some((star, from)) => {
                        p = star + 1;
                        t = from + 1;
                        resume = Some((star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[p..].iter().all(|t| *t == Token::Any)
    }

    /// The pattern as SQL `LIKE … ESCAPE '!'` text: `!` escapes `%`, `_` and
    /// itself. With `fold_ascii`, ASCII letters are lowered (the column side
    /// must be lowered the same way).
    pub fn to_sql_like(&self, fold_ascii: bool) -> String {
        let mut out = String::new();
        for t in &self.tokens {
            match *t {
                Token::Any => out.push('%'),
                Token::One => out.push('_'),
                Token::Lit(c) => {
                    if matches!(c, '%' | '_' | '!') {
                        out.push('!');
                    }
                    out.push(fold(c, fold_ascii));
                }
            }
        }
        out
    }

    /// The pattern as a SQLite `GLOB` (case-sensitive): `*`, `?`, and the
    /// characters special to `GLOB` in brackets.
    pub fn to_glob(&self) -> String {
        let mut out = String::new();
        for t in &self.tokens {
            match *t {
                Token::Any => out.push('*'),
                Token::One => out.push('?'),
                Token::Lit(c @ ('*' | '?' | '[')) => {
                    out.push('[');
                    out.push(c);
                    out.push(']');
                }
                Token::Lit(c) => out.push(c),
            }
        }
        out
    }
}

fn fold(c: char, fold_ascii: bool) -> char {
    if fold_ascii { c.to_ascii_lowercase() } else { c }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        LikePattern::parse(p).unwrap().matches(t, false)
    }

    #[test]
    fn wildcards_escapes_and_case() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("%", ""));
        assert!(m("a%c", "abbbc"));
        assert!(m("a%c", "ac"));
        assert!(!m("a%c", "acb"));
        assert!(m("%b%", "abc"));
        assert!(m("_é_", "aéb"));
        assert!(!m("__", "é"));
        assert!(m(r"a\%", "a%"));
        assert!(!m(r"a\%", "ab"));
        assert!(m(r"a\_b", "a_b"));
        assert!(!m(r"a\_b", "axb"));
        assert!(m(r"a\\b", r"a\b"));
        assert!(m("%a%a%a%b", "aaaaaaaaab"));
        assert!(!m("%a%a%a%b", "aaaaaaaaaa"));
        assert!(!m("abc", "ABC"));
        let p = LikePattern::parse("AbÉ%").unwrap();
        assert!(p.matches("abÉx", true));
        assert!(!p.matches("abéx", true), "only ASCII folds");
        assert!(LikePattern::parse("x\\").is_err());
    }

    #[test]
    fn renders_sql_and_glob() {
        let p = LikePattern::parse(r"a!\%_*?[%").unwrap();
        assert_eq!(p.to_sql_like(false), "a!!!%_*?[%");
        assert_eq!(p.to_glob(), "a!%?[*][?][[]*");
        assert_eq!(LikePattern::parse("AB%").unwrap().to_sql_like(true), "ab%");
    }
}
