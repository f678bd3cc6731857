//! The PostgREST-style filter syntax of `--filter`, as NexAU (the Python implementation) uses it:
//! `updated_at.lt.2026-01-01T00:00:00Z`, `and=(user_id.eq.alice,updated_at.lt.…)`,
//! `or=(…)`, `not.and=(…)`, `session_id.not.eq.x`, `user_id.in.(a,b)`,
//! `root_agent_id.is.null`.

use crate::{ColumnType, Filter, TableSchema, Value};

/// Why a filter expression was refused: one line, starting `bad filter`
/// (or saying how many conditions are too many).
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
        Filter::Cmp { .. } | Filter::In { .. } | Filter::IsNull(_) => 1,
        Filter::And(parts) | Filter::Or(parts) => parts.iter().map(terms).sum(),
        Filter::Not(inner) => terms(inner),
    }
}

fn parse_expr(expr: &str, table: &TableSchema) -> Result<Filter, String> {
    if let Some(rest) = expr.strip_prefix("not.")
        && (rest.starts_with("and=") || rest.starts_with("or="))
    {
        return Ok(Filter::not(parse_expr(rest, table)?));
    }
    for (name, is_and) in [("and=", true), ("or=", false)] {
        if let Some(rest) = expr.strip_prefix(name) {
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("`{name}` takes a parenthesised list, e.g. {name}(a.eq.1,b.eq.2)"))?;
            let parts = split_top_level(inner)?
                .into_iter()
                .map(|p| parse_expr(p.trim(), table))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if is_and { Filter::And(parts) } else { Filter::Or(parts) });
        }
    }
    parse_condition(expr, table)
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let (mut depth, mut start, mut parts) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".into());
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    parts.push(&s[start..]);
    if parts.iter().any(|p| p.trim().is_empty()) {
        return Err("empty condition in a list".into());
    }
    Ok(parts)
}

fn parse_condition(expr: &str, table: &TableSchema) -> Result<Filter, String> {
    let (field, rest) = expr.split_once('.').ok_or("expected FIELD.OP.VALUE, e.g. user_id.eq.alice")?;
    let column = table.column(field).ok_or_else(|| format!("{} has no column {field:?}", table.name))?;
    let (negate, rest) = match rest.strip_prefix("not.") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (op, value) = rest.split_once('.').ok_or("expected FIELD.OP.VALUE, e.g. user_id.eq.alice")?;
    let typed = |text: &str| typed_value(text, column.ty, field);
    let filter = match op {
        "eq" => Filter::eq(field, typed(value)?),
        "neq" | "ne" => Filter::ne(field, typed(value)?),
        "lt" => Filter::lt(field, typed(value)?),
        "lte" | "le" => Filter::le(field, typed(value)?),
        "gt" => Filter::gt(field, typed(value)?),
        "gte" | "ge" => Filter::ge(field, typed(value)?),
        "in" => {
            let inner = value
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or("`in` takes a parenthesised list, e.g. user_id.in.(alice,bob)")?;
            let values = if inner.is_empty() {
                Vec::new()
            } else {
                inner.split(',').map(|v| typed(v.trim())).collect::<Result<Vec<_>, _>>()?
            };
            Filter::In { field: field.to_owned(), values }
        }
        "is" => match value {
            "null" => Filter::is_null(field),
            "not_null" | "notnull" => Filter::not(Filter::is_null(field)),
            "true" | "false" if column.ty == ColumnType::Bool => Filter::eq(field, value == "true"),
            other => return Err(format!("`is` takes null, not_null, true or false, not {other:?}")),
        },
        other => return Err(format!("unknown operator {other:?} (use eq, neq, lt, lte, gt, gte, in, is)")),
    };
    Ok(if negate { Filter::not(filter) } else { filter })
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
            "user_id.like.x",
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
