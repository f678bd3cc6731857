//! The PostgREST-style filter syntax of `--filter`, as NexAU (the Python implementation) uses it:
//! `updated_at.lt.2026-01-01T00:00:00Z`, `and=(user_id.eq.alice,updated_at.lt.…)`,
//! `or=(…)`, `not.and=(…)`, `session_id.not.eq.x`, `user_id.in.(a,b)`,
//! `root_agent_id.is.null` (or `root_agent_id.is_null`), `user_id.like.al*`,
//! `user_id.ilike."A\_b%"`. Inside a list, a value holding `,` or `)` is
//! written in double quotes (`\"` and `\\` inside). A refusal names the
//! unknown field, or the column (1-based character position) where the
//! syntax went wrong.

use crate::{ColumnType, Filter, Order, TableSchema, Value};

/// Why a filter or sort expression was refused: one line, starting `bad
/// filter` or `bad order` (or saying how many conditions are too many).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Parses `expr` into a filter over `table`'s columns; values are typed by
/// the column they are compared with.
///
/// ```
/// # use nexau_session_storage::{Column, ColumnType, Filter, TableSchema};
/// # let table = TableSchema { name: "t".into(), primary_key: vec!["user_id".into()], indexes: vec![],
/// #   columns: vec![Column { name: "user_id".into(), ty: ColumnType::Text, nullable: false },
/// #                 Column { name: "version".into(), ty: ColumnType::Int, nullable: false }] };
/// use nexau_session_storage::filter_dsl::parse_filter;
/// let f = parse_filter("and=(user_id.eq.alice,version.gt.2)", &table).unwrap();
/// assert_eq!(f, Filter::and([Filter::eq("user_id", "alice"), Filter::gt("version", 2i64)]));
/// ```
pub fn parse_filter(expr: &str, table: &TableSchema) -> Result<Filter, FilterError> {
    let shown = || {
        let head: String = expr.chars().take(60).collect();
        if head.len() < expr.len() { format!("{head:?}…") } else { format!("{head:?}") }
    };
    let filter = parse_expr(expr.trim(), table).map_err(|why| FilterError(format!("bad filter {}: {why}", shown())))?;
    check_terms(&filter)?;
    Ok(filter)
}

/// The most conditions (`FIELD.OP.VALUE` terms) one query's filters may hold
/// together: SQL engines bound the size of a `WHERE` expression, and a query
/// over that is bad input rather than a storage failure.
pub const MAX_FILTER_TERMS: usize = 256;

/// Parses every expression and ANDs them (`Filter::All` for none), refusing
/// more than [`MAX_FILTER_TERMS`] conditions in all.
///
/// ```
/// # use nexau_session_storage::{Column, ColumnType, Filter, TableSchema};
/// # let table = TableSchema { name: "t".into(), primary_key: vec!["user_id".into()], indexes: vec![],
/// #   columns: vec![Column { name: "user_id".into(), ty: ColumnType::Text, nullable: false }] };
/// use nexau_session_storage::filter_dsl::{parse_filters, MAX_FILTER_TERMS};
/// assert_eq!(parse_filters::<&str>(&[], &table).unwrap(), Filter::All);
/// let many = vec!["user_id.eq.a"; MAX_FILTER_TERMS + 1];
/// assert!(parse_filters(&many, &table).unwrap_err().to_string().contains("conditions"));
/// ```
pub fn parse_filters<S: AsRef<str>>(exprs: &[S], table: &TableSchema) -> Result<Filter, FilterError> {
    if exprs.len() > MAX_FILTER_TERMS {
        return Err(too_many(exprs.len()));
    }
    let parts = exprs.iter().map(|e| parse_filter(e.as_ref(), table)).collect::<Result<Vec<_>, _>>()?;
    let filter = if parts.is_empty() { Filter::All } else { Filter::And(parts) };
    check_terms(&filter)?;
    Ok(filter)
}

fn check_terms(filter: &Filter) -> Result<(), FilterError> {
    match terms(filter) {
        n if n > MAX_FILTER_TERMS => Err(too_many(n)),
        _ => Ok(()),
    }
}

fn too_many(n: usize) -> FilterError {
    FilterError(format!("the filters hold {n} conditions; at most {MAX_FILTER_TERMS} are accepted"))
}

/// The conditions in `filter`.
fn terms(filter: &Filter) -> usize {
    match filter {
        Filter::All => 0,
        Filter::Cmp { .. } | Filter::In { .. } | Filter::IsNull(_) | Filter::Like { .. } => 1,
        Filter::And(parts) | Filter::Or(parts) => parts.iter().map(terms).sum(),
        Filter::Not(inner) => terms(inner),
    }
}

/// Why an expression was refused, and where (a byte offset into it).
struct Refusal {
    at: usize,
    why: String,
}

/// A recursive-descent reader over one expression.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    table: &'a TableSchema,
}

impl<'a> Parser<'a> {
    fn refuse<T>(&self, at: usize, why: impl Into<String>) -> Result<T, Refusal> {
        Err(Refusal { at, why: why.into() })
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, what: &str) -> Result<(), Refusal> {
        if self.eat(token) { Ok(()) } else { self.refuse(self.pos, format!("expected {what}")) }
    }

    /// `[a-z0-9_]*` (column names and operators).
    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let n = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        self.pos += n;
        &rest[..n]
    }

    /// `[not.](and|or)=(…)` or a condition.
    fn expr(&mut self, in_list: bool) -> Result<Filter, Refusal> {
        let start = self.pos;
        if self.eat("not.") {
            if self.rest().starts_with("and=") || self.rest().starts_with("or=") {
                return Ok(Filter::not(self.group()?));
            }
            self.pos = start;
        }
        if self.rest().starts_with("and=") || self.rest().starts_with("or=") {
            return self.group();
        }
        self.condition(in_list)
    }

    fn group(&mut self) -> Result<Filter, Refusal> {
        let is_and = self.eat("and=");
        if !is_and {
            self.expect("or=", "and= or or=")?;
        }
        self.expect("(", "`(` opening the list, e.g. and=(a.eq.1,b.eq.2)")?;
        let mut parts = Vec::new();
        loop {
            if matches!(self.peek(), Some(',' | ')') | None) {
                return self.refuse(self.pos, "expected a condition");
            }
            parts.push(self.expr(true)?);
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => return self.refuse(self.pos, format!("expected `,` or `)`, found `{c}`")),
                None => return self.refuse(self.pos, "expected `,` or `)` (unbalanced parentheses)"),
            }
        }
        Ok(if is_and { Filter::And(parts) } else { Filter::Or(parts) })
    }

    /// `FIELD.[not.]OP.VALUE` or `FIELD.[not.]is_null`.
    fn condition(&mut self, in_list: bool) -> Result<Filter, Refusal> {
        let field_at = self.pos;
        let field = self.word();
        if field.is_empty() {
            return self.refuse(field_at, "expected FIELD.OP.VALUE, e.g. user_id.eq.alice");
        }
        let Some(column) = self.table.column(field) else {
            let known: Vec<&str> = self.table.columns.iter().map(|c| c.name.as_str()).collect();
            return self
                .refuse(field_at, format!("unknown field {field:?}: {} has {}", self.table.name, known.join(", ")));
        };
        self.expect(".", "`.` after the field, e.g. user_id.eq.alice")?;
        let mut op_at = self.pos;
        let mut op = self.word();
        let negate = op == "not";
        if negate {
            self.expect(".", "`.` after not")?;
            op_at = self.pos;
            op = self.word();
        }
        let filter = match op {
            "is_null" => Filter::is_null(field),
            "eq" | "neq" | "ne" | "lt" | "lte" | "le" | "gt" | "gte" | "ge" => {
                self.expect(".", "`.` before the value")?;
                let (at, text) = self.value(in_list)?;
                let value = typed_value(&text, column.ty, field).or_else(|why| self.refuse(at, why))?;
                match op {
                    "eq" => Filter::eq(field, value),
                    "neq" | "ne" => Filter::ne(field, value),
                    "lt" => Filter::lt(field, value),
                    "lte" | "le" => Filter::le(field, value),
                    "gt" => Filter::gt(field, value),
                    _ => Filter::ge(field, value),
                }
            }
            "in" => {
                self.expect(".", "`.` before the list")?;
                self.expect("(", "`(`: in takes a parenthesised list, e.g. user_id.in.(alice,bob)")?;
                let mut values = Vec::new();
                if !self.eat(")") {
                    loop {
                        let (at, text) = self.value(true)?;
                        values.push(typed_value(&text, column.ty, field).or_else(|why| self.refuse(at, why))?);
                        match self.peek() {
                            Some(',') => self.pos += 1,
                            Some(')') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return self.refuse(self.pos, "expected `,` or `)` in the in list"),
                        }
                    }
                }
                Filter::In { field: field.to_owned(), values }
            }
            "is" => {
                self.expect(".", "`.` before null, not_null, true or false")?;
                let at = self.pos;
                match self.word() {
                    "null" => Filter::is_null(field),
                    "not_null" | "notnull" => Filter::not(Filter::is_null(field)),
                    v @ ("true" | "false") if column.ty == ColumnType::Bool => Filter::eq(field, v == "true"),
                    other => return self.refuse(at, format!("is takes null, not_null, true or false, not {other:?}")),
                }
            }
            "like" | "ilike" => {
                if column.ty != ColumnType::Text {
                    return self.refuse(op_at, format!("{op} takes a text column, and {field} holds {}", column.ty));
                }
                self.expect(".", "`.` before the pattern")?;
                let (at, text) = self.value(in_list)?;
                let pattern = like_pattern(&text).map_err(|(offset, why)| Refusal { at: at + offset, why })?;
                Filter::Like { field: field.to_owned(), pattern, case_insensitive: op == "ilike" }
            }
            "" => return self.refuse(op_at, "expected an operator"),
            other => {
                return self.refuse(
                    op_at,
                    format!("unknown operator {other:?} (use eq, neq, lt, lte, gt, gte, in, is, is_null, like, ilike)"),
                );
            }
        };
        Ok(if negate { Filter::not(filter) } else { filter })
    }

    /// A value and where it starts: `"…"` (with `\"` and `\\`), or bare text
    /// up to the next `,` or `)` inside a list, to the end outside one.
    fn value(&mut self, in_list: bool) -> Result<(usize, String), Refusal> {
        let at = self.pos;
        if self.eat("\"") {
            let mut out = String::new();
            let mut chars = self.rest().char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.pos += i + 1;
                        return Ok((at + 1, out));
                    }
                    '\\' => match chars.next() {
                        Some((_, e)) => {
                            if e != '"' && e != '\\' {
                                out.push('\\');
                            }
                            out.push(e);
                        }
                        None => break,
                    },
                    c => out.push(c),
                }
            }
            return self.refuse(at, "unterminated quoted value");
        }
        let rest = self.rest();
        let n = if in_list { rest.find([',', ')']).unwrap_or(rest.len()) } else { rest.len() };
        self.pos += n;
        Ok((at, rest[..n].to_owned()))
    }
}

/// A `like`/`ilike` value as a storage pattern: `*` and `%` match any run,
/// `_` one character, `\` makes the next character literal (`\*`, `\%`,
/// `\_`, `\\`). On error: the byte offset in `text` and why.
fn like_pattern(text: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '*' | '%' => out.push('%'),
            '\\' => match chars.next() {
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return Err((i, "a pattern cannot end with a lone `\\` (write `\\\\` for a backslash)".into())),
            },
            c => out.push(c),
        }
    }
    if out.len() > crate::MAX_LIKE_PATTERN_BYTES {
        return Err((0, format!("a like pattern takes at most {} bytes", crate::MAX_LIKE_PATTERN_BYTES)));
    }
    Ok(out)
}

fn parse_expr(expr: &str, table: &TableSchema) -> Result<Filter, String> {
    let mut p = Parser { src: expr, pos: 0, table };
    let parsed = p.expr(false).and_then(|f| match p.peek() {
        None => Ok(f),
        Some(c) => p.refuse(p.pos, format!("unexpected `{c}` after a complete condition")),
    });
    parsed.map_err(|Refusal { at, why }| {
        let column = expr.char_indices().take_while(|&(i, _)| i < at).count() + 1;
        format!("at column {column}: {why}")
    })
}

/// Parses a sort key, `field` (ascending) or `-field` (descending), over
/// `table`'s columns; an unknown column is refused by name.
///
/// ```
/// # use nexau_session_storage::{Column, ColumnType, TableSchema};
/// # let table = TableSchema { name: "sessions".into(), primary_key: vec!["user_id".into()], indexes: vec![],
/// #   columns: vec![Column { name: "updated_at".into(), ty: ColumnType::Timestamp, nullable: false }] };
/// use nexau_session_storage::filter_dsl::parse_order;
/// assert!(parse_order("-updated_at", &table).unwrap().descending);
/// assert!(parse_order("nope", &table).unwrap_err().to_string().contains("\"nope\""));
/// ```
pub fn parse_order(spec: &str, table: &TableSchema) -> Result<Order, FilterError> {
    let order = Order::parse(spec.trim());
    if table.column(&order.field).is_none() {
        let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        return Err(FilterError(format!(
            "bad order {spec:?}: unknown field {:?}: {} has {}",
            order.field,
            table.name,
            known.join(", ")
        )));
    }
    Ok(order)
}

fn typed_value(text: &str, ty: ColumnType, field: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("{field} is {what}, and {text:?} is not");
    Ok(match ty {
        ColumnType::Int => Value::Int(text.parse().map_err(|_| bad("an integer"))?),
        ColumnType::Float => Value::Float(text.parse().map_err(|_| bad("a number"))?),
        ColumnType::Bool => Value::Bool(text.parse().map_err(|_| bad("true or false"))?),
        ColumnType::Timestamp => {
            let t = crate::Timestamp::parse_rfc3339(text).map_err(|e| format!("{field}: {e}"))?;
            Value::from(t)
        }
        ColumnType::Text | ColumnType::Json => Value::Text(text.to_owned()),
        ColumnType::Bytes => return Err(format!("{field} holds bytes and cannot be filtered on")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;

    fn table() -> TableSchema {
        let col = |name: &str, ty| Column { name: name.into(), ty, nullable: true };
        TableSchema {
            name: "sessions".into(),
            columns: vec![
                col("user_id", ColumnType::Text),
                col("updated_at", ColumnType::Timestamp),
                col("version", ColumnType::Int),
                col("root_agent_id", ColumnType::Text),
            ],
            primary_key: vec!["user_id".into()],
            indexes: vec![],
        }
    }

    #[test]
    fn parses_the_reference_forms() {
        let t = table();
        assert_eq!(
            parse_filter("updated_at.lt.2026-01-01T00:00:00Z", &t).unwrap(),
            Filter::lt("updated_at", Value::Timestamp("2026-01-01T00:00:00.000000Z".into()))
        );
        assert_eq!(
            parse_filter("updated_at.lt.2026-01-01T05:00:00+05:00", &t).unwrap(),
            parse_filter("updated_at.lt.2026-01-01T00:00:00Z", &t).unwrap(),
            "an offset is converted to UTC"
        );
        let e = parse_filter("updated_at.lt.2300-01-01T00:00:00Z", &t).unwrap_err().to_string();
        assert!(e.contains("2262-04-11T23:47:16") && !e.contains('\n'), "{e}");
        assert_eq!(
            parse_filter("and=(user_id.eq.alice,or=(version.gt.2,root_agent_id.is.null))", &t).unwrap(),
            Filter::and([
                Filter::eq("user_id", "alice"),
                Filter::or([Filter::gt("version", 2i64), Filter::is_null("root_agent_id")])
            ])
        );
        assert_eq!(parse_filter("user_id.not.eq.bob", &t).unwrap(), Filter::not(Filter::eq("user_id", "bob")));
        assert_eq!(parse_filter("user_id.in.(a,b)", &t).unwrap(), Filter::is_in("user_id", ["a", "b"]));
        assert_eq!(
            parse_filter("not.and=(user_id.eq.a)", &t).unwrap(),
            Filter::not(Filter::and([Filter::eq("user_id", "a")]))
        );
    }

    #[test]
    fn rejects_bad_input_with_one_line() {
        let t = table();
        for bad in [
            "nope.eq.1",
            "user_id",
            "user_id.like.x\\",
            "version.like.1",
            "version.gt.x",
            "updated_at.lt.yesterday",
            "and=(user_id.eq.a",
            "and=user_id.eq.a",
            "and=(user_id.eq.a,)",
            "user_id.in.a,b",
        ] {
            let e = parse_filter(bad, &t).unwrap_err().to_string();
            assert!(e.starts_with("bad filter") && !e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn like_ilike_in_is_null_and_not() {
        let t = table();
        let p = |e: &str| parse_filter(e, &t).unwrap();
        assert_eq!(p("user_id.like.al*"), Filter::like("user_id", "al%"));
        assert_eq!(p("user_id.like.a%b_"), Filter::like("user_id", "a%b_"));
        assert_eq!(p(r"user_id.ilike.a\*b\_c\%"), Filter::ilike("user_id", r"a\*b\_c\%"));
        assert_eq!(p("user_id.not.like.x*"), Filter::not(Filter::like("user_id", "x%")));
        assert_eq!(
            p(r#"or=(user_id.like."a,b)*",root_agent_id.is_null)"#),
            Filter::or([Filter::like("user_id", "a,b)%"), Filter::is_null("root_agent_id")])
        );
        assert_eq!(p("root_agent_id.not.is_null"), Filter::not(Filter::is_null("root_agent_id")));
        assert_eq!(p("version.in.()"), Filter::In { field: "version".into(), values: vec![] });
        assert_eq!(p(r#"user_id.in.("a,b",c)"#), Filter::is_in("user_id", ["a,b", "c"]));
    }

    #[test]
    fn errors_name_the_field_or_the_column() {
        let t = table();
        let e = |x: &str| parse_filter(x, &t).unwrap_err().to_string();
        let unknown = e("and=(user_id.eq.a,nope.eq.1)");
        assert!(unknown.contains("at column 19") && unknown.contains("unknown field \"nope\""), "{unknown}");
        assert!(unknown.contains("user_id, updated_at"), "lists the columns: {unknown}");
        assert!(e("and=(user_id.eq.a))").contains("at column 19"), "{}", e("and=(user_id.eq.a))"));
        assert!(e("and=(user_id.eq.a").contains("at column 18"), "{}", e("and=(user_id.eq.a"));
        assert!(e("user_id.zz.a").contains("at column 9") && e("user_id.zz.a").contains("\"zz\""));
        assert!(e("version.gt.x").contains("at column 12"), "{}", e("version.gt.x"));
        assert!(e(r"user_id.like.ab\").contains("at column 16"), "{}", e(r"user_id.like.ab\"));
        assert!(e("version.like.1").contains("text column"));
        let order = parse_order("-nope", &t).unwrap_err().to_string();
        assert!(order.contains("\"nope\""), "{order}");
        assert_eq!(parse_order("-version", &t).unwrap(), Order { field: "version".into(), descending: true });
    }

    #[test]
    fn bounds_the_number_of_conditions() {
        let t = table();
        let one = "user_id.eq.a";
        assert!(parse_filters(&vec![one; MAX_FILTER_TERMS], &t).is_ok());
        assert!(parse_filters(&vec![one; MAX_FILTER_TERMS + 1], &t).is_err());
        let wide = format!("and=({})", vec![one; MAX_FILTER_TERMS + 1].join(","));
        let e = parse_filter(&wide, &t).unwrap_err().to_string();
        assert!(e.contains("at most") && !e.contains('\n'), "{e}");
    }
}
