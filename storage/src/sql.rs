//! Compiles validated storage requests (filters, queries, writes, schemas)
//! into SQL text plus bound parameters.
//!
//! Shared by every SQL backend: the placeholder style, identifier quoting,
//! column type names and NULL ordering are parameters of a [`Dialect`].
//! Identifiers are always quoted and values are always bound as parameters,
//! never spliced into the SQL text.
//!
//! ```
//! use nexau_session_storage::{sql::Dialect, Filter};
//! let mut params = Vec::new();
//! let sql = Dialect::POSTGRES.filter(&Filter::and([Filter::eq("a", 1i64), Filter::is_null("b")]), &mut params);
//! assert_eq!(sql, r#"("a" = $1 AND "b" IS NULL)"#);
//! assert_eq!(params.len(), 1);
//! ```

use crate::{CmpOp, Column, ColumnType, Filter, Index, LikePattern, Query, TableSchema, Value};

/// How bound parameters are written in SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `?` (SQLite, MySQL).
    Question,
    /// `$1`, `$2`, ... (PostgreSQL).
    Dollar,
}

/// Where NULLs sort, and whether the SQL must say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullsOrder {
    /// The database already sorts NULLs first ascending and last descending
    /// (SQLite, MySQL): emit plain `ASC`/`DESC`.
    Native,
    /// Emit `NULLS FIRST` ascending and `NULLS LAST` descending (PostgreSQL),
    /// on nullable columns: a NOT NULL column gets plain `ASC`/`DESC`, which
    /// the database can read from an index in order.
    Explicit,
}

/// The parameters of one SQL flavour.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Placeholder style.
    pub placeholder: Placeholder,
    /// The identifier quote character (`"` or `` ` ``); doubled inside names.
    pub quote: char,
    /// How `ORDER BY` places NULLs.
    pub nulls_order: NullsOrder,
    /// The SQL type of a column type; the second argument is, for a column
    /// that is part of a key or index, the most characters its values may
    /// take so that every key fits the index size limit (see
    /// [`Dialect::key_bytes`]; always `None` without one).
    pub column_type: fn(ColumnType, Option<usize>) -> String,
    /// Whether `Check` ops lock the rows they count (`FOR UPDATE`). SQLite
    /// does not need it: `BEGIN IMMEDIATE` already holds the write lock.
    pub lock_checked_rows: bool,
    /// The most bytes one index entry may take (MySQL/MariaDB InnoDB: 3072),
    /// which bounds the width of key text columns; `None`: unbounded text keys.
    pub key_bytes: Option<usize>,
    /// Appended to a JSON column's name where it is compared or sorted
    /// (PostgreSQL: `::text`, as its `json` type has no comparison
    /// operators): JSON documents compare as their text, as on SQLite.
    pub json_as_text: &'static str,
    /// Appended to `CREATE TABLE` (MySQL: engine and character set).
    pub table_options: &'static str,
    /// How `like`/`ilike` filters are written (see [`LikeStyle`]).
    pub like: LikeStyle,
    /// Whether an index over nullable columns leaves out the rows with a
    /// NULL in them (`CREATE … INDEX … WHERE c IS NOT NULL`). Such rows never
    /// collide, so a unique index enforces the same rule; a lookup by `c = x`
    /// still uses the index; and a row without the value (an optional
    /// idempotency key or run id, say) costs no index write.
    pub partial_indexes: bool,
}

/// How a dialect writes a [`Filter::Like`] so that it means exactly what
/// [`LikePattern`] says: case-sensitive, one character per `_`, ASCII-only
/// case folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeStyle {
    /// SQLite: its `LIKE` folds exactly the ASCII letters, so `ilike` is
    /// `LIKE … ESCAPE '!'`; `like` is `GLOB`, which is case-sensitive.
    Sqlite,
    /// PostgreSQL: `LIKE … ESCAPE '!'` (case-sensitive); `ilike` lowers the
    /// column's ASCII letters with `translate` (not `ILIKE`, whose folding
    /// follows the locale).
    Postgres,
    /// MySQL/MariaDB: `LIKE … ESCAPE '!'` under the binary collation
    /// (case-sensitive); `ilike` lowers the column's ASCII letters with
    /// nested `REPLACE`s (not `LOWER`, which folds beyond ASCII).
    Mysql,
}

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The SQLite type of a column type (also how SQLite reports it back).
pub fn sqlite_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool | ColumnType::Int => "INTEGER",
        ColumnType::Float => "REAL",
        ColumnType::Text | ColumnType::Json | ColumnType::Timestamp => "TEXT",
        ColumnType::Bytes => "BLOB",
    }
}

fn sqlite_column_type(ty: ColumnType, _key_chars: Option<usize>) -> String {
    sqlite_type(ty).to_owned()
}

/// PostgreSQL: text in byte order (`COLLATE "C"`), JSON as `json` (which keeps
/// the document's text exactly, unlike `jsonb`), instants as `timestamptz`
/// (microseconds, the canonical precision).
fn postgres_type(ty: ColumnType, _key_chars: Option<usize>) -> String {
    match ty {
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Int => "BIGINT",
        ColumnType::Float => "DOUBLE PRECISION",
        ColumnType::Text => "TEXT COLLATE \"C\"",
        ColumnType::Json => "JSON",
        ColumnType::Timestamp => "TIMESTAMPTZ",
        ColumnType::Bytes => "BYTEA",
    }
    .to_owned()
}

/// The MySQL/MariaDB collation of text: code-point (= UTF-8 byte) order, and
/// trailing spaces significant (`nopad`), so text compares as on SQLite.
pub const MYSQL_TEXT_COLLATION: &str = "utf8mb4_nopad_bin";

/// MySQL/MariaDB: key text columns are `VARCHAR` as wide as the index limit
/// allows (indexes cannot cover `LONGTEXT`), other text `LONGTEXT`; instants
/// as `DATETIME(6)` in UTC.
fn mysql_type(ty: ColumnType, key_chars: Option<usize>) -> String {
    let text = |t: &str| format!("{t} CHARACTER SET utf8mb4 COLLATE {MYSQL_TEXT_COLLATION}");
    match (ty, key_chars) {
        (ColumnType::Bool, _) => "BOOLEAN".to_owned(),
        (ColumnType::Int, _) => "BIGINT".to_owned(),
        (ColumnType::Float, _) => "DOUBLE".to_owned(),
        (ColumnType::Text, Some(n)) => text(&format!("VARCHAR({n})")),
        (ColumnType::Text, None) => text("LONGTEXT"),
        (ColumnType::Json, _) => "JSON".to_owned(),
        (ColumnType::Timestamp, _) => "DATETIME(6)".to_owned(),
        (ColumnType::Bytes, Some(n)) => format!("VARBINARY({})", n * 4),
        (ColumnType::Bytes, None) => "LONGBLOB".to_owned(),
    }
}

/// The bytes a fixed-width column takes in an index entry (MySQL sizes).
fn fixed_key_bytes(ty: ColumnType) -> Option<usize> {
    match ty {
        ColumnType::Bool => Some(1),
        ColumnType::Int | ColumnType::Float | ColumnType::Timestamp => Some(8),
        ColumnType::Text | ColumnType::Json | ColumnType::Bytes => None,
    }
}

/// The widest key text column (characters), however roomy the index.
pub const MAX_KEY_CHARS: usize = 255;

/// A statement: SQL text and its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text.
    pub sql: String,
    /// The bound values.
    pub params: Vec<Value>,
}

impl Dialect {
    /// SQLite: `?`, double quotes, native NULL order.
    pub const SQLITE: Dialect = Dialect {
        placeholder: Placeholder::Question,
        quote: '"',
        nulls_order: NullsOrder::Native,
        column_type: sqlite_column_type,
        lock_checked_rows: false,
        key_bytes: None,
        json_as_text: "",
        table_options: "",
        like: LikeStyle::Sqlite,
        partial_indexes: true,
    };
    /// PostgreSQL: `$n`, double quotes, explicit NULL order.
    pub const POSTGRES: Dialect = Dialect {
        placeholder: Placeholder::Dollar,
        quote: '"',
        nulls_order: NullsOrder::Explicit,
        column_type: postgres_type,
        lock_checked_rows: true,
        key_bytes: None,
        json_as_text: "::text",
        table_options: "",
        like: LikeStyle::Postgres,
        partial_indexes: true,
    };
    /// MySQL/MariaDB: `?`, backticks, native NULL order.
    pub const MYSQL: Dialect = Dialect {
        placeholder: Placeholder::Question,
        quote: '`',
        nulls_order: NullsOrder::Native,
        column_type: mysql_type,
        lock_checked_rows: true,
        key_bytes: Some(3072),
        json_as_text: "",
        table_options: " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin",
        like: LikeStyle::Mysql,
        partial_indexes: false,
    };

    /// Quotes an identifier, doubling any quote character inside it.
    ///
    /// ```
    /// use nexau_session_storage::sql::Dialect;
    /// assert_eq!(Dialect::SQLITE.quote_ident("a\"b"), "\"a\"\"b\"");
    /// ```
    pub fn quote_ident(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len() + 2);
        self.push_ident(&mut out, name);
        out
    }

    /// Appends `name` quoted to `out` (see [`Dialect::quote_ident`]).
    fn push_ident(&self, out: &mut String, name: &str) {
        let q = self.quote;
        out.push(q);
        if name.contains(q) {
            for c in name.chars() {
                if c == q {
                    out.push(q);
                }
                out.push(c);
            }
        } else {
            out.push_str(name);
        }
        out.push(q);
    }

    fn quoted_list(&self, names: &[String]) -> String {
        let mut out = String::new();
        self.push_ident_list(&mut out, names.iter().map(String::as_str));
        out
    }

    /// Appends the quoted `names` to `out`, separated by `, `.
    fn push_ident_list<'n>(&self, out: &mut String, names: impl IntoIterator<Item = &'n str>) {
        push_separated(out, names, ", ", |out, n| self.push_ident(out, n));
    }

    /// Pushes `value` onto `params` and returns its placeholder.
    pub fn bind(&self, value: Value, params: &mut Vec<Value>) -> String {
        let mut out = String::new();
        self.push_bind(&mut out, value, params);
        out
    }

    /// Pushes `value` onto `params` and appends its placeholder to `out`.
    fn push_bind(&self, out: &mut String, value: Value, params: &mut Vec<Value>) {
        params.push(value);
        self.push_placeholder(out, params.len());
    }

    /// Appends the placeholder of the `n`th bound value (from 1) to `out`.
    fn push_placeholder(&self, out: &mut String, n: usize) {
        match self.placeholder {
            Placeholder::Question => out.push('?'),
            Placeholder::Dollar => {
                use std::fmt::Write;
                let _ = write!(out, "${n}");
            }
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for `schema`, with its primary key.
    pub fn create_table(&self, schema: &TableSchema) -> String {
        let mut parts: Vec<String> = schema
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " NOT NULL" };
                let ty = (self.column_type)(c.ty, self.key_chars(schema, &c.name));
                format!("{} {ty}{null}", self.quote_ident(&c.name))
            })
            .collect();
        if !schema.primary_key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", self.quoted_list(&schema.primary_key)));
        }
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({}){}",
            self.quote_ident(&schema.name),
            parts.join(", "),
            self.table_options
        )
    }

    /// For a dialect with an index size limit, the most characters of
    /// `column` such that every key and index of `schema` containing it fits:
    /// the limit, less the fixed-width columns of the key, shared by its
    /// variable-width ones (4 bytes a character). `None` when the column is in
    /// no key or the dialect has no limit.
    ///
    /// ```
    /// use nexau_session_storage::{sql::Dialect, Column, ColumnType, TableSchema};
    /// let c = |n: &str, ty| Column { name: n.into(), ty, nullable: false };
    /// let t = TableSchema {
    ///     name: "t".into(),
    ///     columns: vec![c("a", ColumnType::Text), c("b", ColumnType::Text), c("n", ColumnType::Int), c("x", ColumnType::Text)],
    ///     primary_key: vec!["a".into(), "b".into(), "n".into()],
    ///     indexes: vec![],
    /// };
    /// // (3072 - 8) / (2 × 4) = 383 characters fit; capped at MAX_KEY_CHARS.
    /// assert_eq!(Dialect::MYSQL.key_chars(&t, "a"), Some(255));
    /// assert_eq!(Dialect::MYSQL.key_chars(&t, "x"), None);
    /// assert_eq!(Dialect::POSTGRES.key_chars(&t, "a"), None);
    /// ```
    pub fn key_chars(&self, schema: &TableSchema, column: &str) -> Option<usize> {
        let limit = self.key_bytes?;
        let keys =
            std::iter::once(schema.primary_key.as_slice()).chain(schema.indexes.iter().map(|i| i.columns.as_slice()));
        keys.filter(|k| k.iter().any(|c| c == column))
            .map(|key| {
                let types = key.iter().filter_map(|c| schema.column(c)).map(|c| c.ty);
                let (fixed, variable) = types.fold((0, 0), |(f, v), ty| match fixed_key_bytes(ty) {
                    Some(b) => (f + b, v),
                    None => (f, v + 1),
                });
                limit.saturating_sub(fixed) / (4 * variable.max(1))
            })
            .min()
            .map(|n| n.min(MAX_KEY_CHARS))
    }

    /// `ALTER TABLE … ADD COLUMN` for a nullable `column` (a NOT NULL column
    /// cannot be added to a table with rows without a default).
    ///
    /// ```
    /// use nexau_session_storage::{sql::Dialect, Column, ColumnType};
    /// let c = Column { name: "note".into(), ty: ColumnType::Text, nullable: true };
    /// assert_eq!(Dialect::SQLITE.add_column("t", &c), r#"ALTER TABLE "t" ADD COLUMN "note" TEXT"#);
    /// ```
    pub fn add_column(&self, table: &str, column: &Column) -> String {
        let null = if column.nullable { "" } else { " NOT NULL" };
        format!(
            "ALTER TABLE {} ADD COLUMN {} {}{null}",
            self.quote_ident(table),
            self.quote_ident(&column.name),
            (self.column_type)(column.ty, None)
        )
    }

    /// The database-wide name of index `index` of `table`.
    pub fn index_name(table: &str, index: &Index) -> String {
        format!("{table}__{}", index.name)
    }

    /// `CREATE [UNIQUE] INDEX IF NOT EXISTS` for one index of `schema`.
    pub fn create_index(&self, schema: &TableSchema, index: &Index) -> String {
        let mut sql = format!(
            "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.quote_ident(&Self::index_name(&schema.name, index)),
            self.quote_ident(&schema.name),
            self.quoted_list(&index.columns)
        );
        let nullable = index.columns.iter().filter(|c| schema.column(c).is_some_and(|c| c.nullable));
        let present: Vec<String> = nullable.map(|c| format!("{} IS NOT NULL", self.quote_ident(c))).collect();
        if self.partial_indexes && !present.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&present.join(" AND "));
        }
        sql
    }

    /// Compiles a filter into a boolean SQL expression, binding its values.
    ///
    /// SQL three-valued logic applies: a comparison with NULL is unknown, and
    /// so is its negation; a row matches only when the whole expression is true.
    pub fn filter(&self, filter: &Filter, params: &mut Vec<Value>) -> String {
        let mut out = String::new();
        self.push_filter(&mut out, filter, params);
        out
    }

    /// Appends the condition of `filter` to `out` (see [`Dialect::filter`]).
    fn push_filter(&self, out: &mut String, filter: &Filter, params: &mut Vec<Value>) {
        match filter {
            Filter::All => out.push_str("1=1"),
            Filter::Cmp { field, op, value } => {
                let op = match op {
                    CmpOp::Eq => " = ",
                    CmpOp::Ne => " <> ",
                    CmpOp::Lt => " < ",
                    CmpOp::Le => " <= ",
                    CmpOp::Gt => " > ",
                    CmpOp::Ge => " >= ",
                };
                self.push_operand(out, field, matches!(value, Value::Json(_)));
                out.push_str(op);
                self.push_bind(out, value.clone(), params);
            }
            Filter::In { values, .. } if values.is_empty() => out.push_str("1=0"),
            Filter::In { field, values } => {
                let json = values.iter().any(|v| matches!(v, Value::Json(_)));
                self.push_operand(out, field, json);
                out.push_str(" IN (");
                push_separated(out, values, ", ", |out, v| self.push_bind(out, v.clone(), params));
                out.push(')');
            }
            Filter::IsNull(field) => {
                self.push_ident(out, field);
                out.push_str(" IS NULL");
            }
            Filter::Like { field, pattern, case_insensitive } => {
                out.push_str(&self.like(field, pattern, *case_insensitive, params))
            }
            Filter::And(v) if v.is_empty() => out.push_str("1=1"),
            Filter::Or(v) if v.is_empty() => out.push_str("1=0"),
            Filter::And(v) => self.push_join(out, v, " AND ", params),
            Filter::Or(v) => self.push_join(out, v, " OR ", params),
            Filter::Not(f) => {
                out.push_str("(NOT ");
                self.push_filter(out, f, params);
                out.push(')');
            }
        }
    }

    /// `field LIKE pattern` as [`LikeStyle`] says. The pattern has passed
    /// validation; one that does not parse matches nothing.
    fn like(&self, field: &str, pattern: &str, fold: bool, params: &mut Vec<Value>) -> String {
        let Ok(pattern) = LikePattern::parse(pattern) else { return "1=0".to_owned() };
        let column = self.quote_ident(field);
        match (self.like, fold) {
            (LikeStyle::Sqlite, false) => {
                format!("{column} GLOB {}", self.bind(Value::Text(pattern.to_glob()), params))
            }
            (LikeStyle::Sqlite, true) | (LikeStyle::Postgres | LikeStyle::Mysql, false) => {
                format!("{column} LIKE {} ESCAPE '!'", self.bind(Value::Text(pattern.to_sql_like(fold)), params))
            }
            (LikeStyle::Postgres, true) => format!(
                "translate({column}, '{UPPER}', '{}') LIKE {} ESCAPE '!'",
                UPPER.to_ascii_lowercase(),
                self.bind(Value::Text(pattern.to_sql_like(true)), params)
            ),
            (LikeStyle::Mysql, true) => {
                let lowered = UPPER
                    .chars()
                    .fold(column, |inner, c| format!("REPLACE({inner}, '{c}', '{}')", c.to_ascii_lowercase()));
                format!("{lowered} LIKE {} ESCAPE '!'", self.bind(Value::Text(pattern.to_sql_like(true)), params))
            }
        }
    }

    /// A column as an operand of a comparison or sort key: JSON columns
    /// compare as text (values compared with a JSON column are JSON values
    /// once validated, so the filter alone tells).
    fn push_operand(&self, out: &mut String, field: &str, json: bool) {
        self.push_ident(out, field);
        if json {
            out.push_str(self.json_as_text);
        }
    }

    fn push_join(&self, out: &mut String, filters: &[Filter], sep: &str, params: &mut Vec<Value>) {
        out.push('(');
        push_separated(out, filters, sep, |out, f| self.push_filter(out, f, params));
        out.push(')');
    }

    /// `SELECT <every column> FROM table WHERE … ORDER BY … LIMIT … OFFSET …`.
    pub fn select(&self, schema: &TableSchema, query: &Query) -> Statement {
        let mut params = Vec::new();
        let mut sql = String::with_capacity(256);
        sql.push_str("SELECT ");
        if query.columns.is_empty() {
            self.push_ident_list(&mut sql, schema.columns.iter().map(|c| c.name.as_str()));
        } else {
            self.push_ident_list(&mut sql, query.columns.iter().map(String::as_str));
        }
        sql.push_str(" FROM ");
        self.push_ident(&mut sql, &schema.name);
        sql.push_str(" WHERE ");
        self.push_filter(&mut sql, &query.filter, &mut params);
        for (i, o) in query.order_by.iter().enumerate() {
            sql.push_str(if i == 0 { " ORDER BY " } else { ", " });
            let column = schema.column(&o.field);
            let json = column.is_some_and(|c| c.ty == ColumnType::Json);
            self.push_operand(&mut sql, &o.field, json);
            // A NOT NULL column sorts the same either way, and PostgreSQL
            // reads an index in order only for its own NULL placement
            // (`ASC NULLS LAST`, or that backwards): with `NULLS LAST` a
            // tail load sorted every message of the agent.
            let nulls = self.nulls_order == NullsOrder::Explicit && column.is_none_or(|c| c.nullable);
            sql.push_str(match (o.descending, nulls) {
                (false, false) => " ASC",
                (true, false) => " DESC",
                (false, true) => " ASC NULLS FIRST",
                (true, true) => " DESC NULLS LAST",
            });
        }
        if query.limit.is_some() || query.offset.is_some() {
            let clamp = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
            sql.push_str(" LIMIT ");
            self.push_bind(&mut sql, clamp(query.limit.unwrap_or(u64::MAX)), &mut params);
            sql.push_str(" OFFSET ");
            self.push_bind(&mut sql, clamp(query.offset.unwrap_or(0)), &mut params);
        }
        Statement { sql, params }
    }

    /// `SELECT COUNT(*) FROM table WHERE …`; with `lock` and a dialect that
    /// locks checked rows, the counted rows are locked until commit.
    pub fn count(&self, table: &str, filter: &Filter, lock: bool) -> Statement {
        let mut params = Vec::new();
        let cond = self.filter(filter, &mut params);
        let table = self.quote_ident(table);
        let sql = if lock && self.lock_checked_rows {
            format!("SELECT COUNT(*) FROM (SELECT 1 AS one FROM {table} WHERE {cond} FOR UPDATE) AS checked")
        } else {
            format!("SELECT COUNT(*) FROM {table} WHERE {cond}")
        };
        Statement { sql, params }
    }

    /// `INSERT INTO table (columns) VALUES (placeholders)` for one row; bind
    /// the row's values in `columns` order.
    pub fn insert(&self, table: &str, columns: &[String]) -> String {
        self.insert_many(table, columns, 1)
    }

    /// `INSERT INTO table (columns) VALUES (…), (…), …` for `rows` rows; bind
    /// the rows' values one row after the other.
    ///
    /// ```
    /// use nexau_session_storage::sql::Dialect;
    /// let sql = Dialect::POSTGRES.insert_many("t", &["a".into(), "b".into()], 2);
    /// assert_eq!(sql, r#"INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4)"#);
    /// ```
    pub fn insert_many(&self, table: &str, columns: &[String], rows: usize) -> String {
        let mut sql = String::with_capacity(64 + 16 * columns.len() * (rows + 1));
        sql.push_str("INSERT INTO ");
        self.push_ident(&mut sql, table);
        sql.push_str(" (");
        self.push_ident_list(&mut sql, columns.iter().map(String::as_str));
        sql.push_str(") VALUES ");
        let mut n = 0;
        push_separated(&mut sql, 0..rows, ", ", |sql, _| {
            sql.push('(');
            push_separated(sql, 0..columns.len(), ", ", |sql, _| {
                n += 1;
                self.push_placeholder(sql, n);
            });
            sql.push(')');
        });
        sql
    }

    /// `UPDATE table SET … WHERE …`.
    pub fn update(&self, table: &str, filter: &Filter, set: &[(String, Value)]) -> Statement {
        let mut params = Vec::with_capacity(set.len() + 8);
        let mut sql = String::with_capacity(256);
        sql.push_str("UPDATE ");
        self.push_ident(&mut sql, table);
        sql.push_str(" SET ");
        push_separated(&mut sql, set, ", ", |sql, (c, v)| {
            self.push_ident(sql, c);
            sql.push_str(" = ");
            self.push_bind(sql, v.clone(), &mut params);
        });
        sql.push_str(" WHERE ");
        self.push_filter(&mut sql, filter, &mut params);
        Statement { sql, params }
    }

    /// `DELETE FROM table WHERE …`.
    pub fn delete(&self, table: &str, filter: &Filter) -> Statement {
        let mut params = Vec::new();
        let cond = self.filter(filter, &mut params);
        Statement { sql: format!("DELETE FROM {} WHERE {cond}", self.quote_ident(table)), params }
    }
}

/// Appends each of `items` to `out` with `each`, `sep` between them.
fn push_separated<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    sep: &str,
    mut each: impl FnMut(&mut String, T),
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        each(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Column, Order};

    fn schema() -> TableSchema {
        TableSchema {
            name: "t".into(),
            columns: vec![
                Column { name: "id".into(), ty: ColumnType::Int, nullable: false },
                Column { name: "name".into(), ty: ColumnType::Text, nullable: true },
            ],
            primary_key: vec!["id".into()],
            indexes: vec![Index { name: "by_name".into(), columns: vec!["name".into()], unique: true }],
        }
    }

    #[test]
    fn select_with_everything_numbers_postgres_placeholders_in_order() {
        let q = Query {
            filter: Filter::or([Filter::is_in("id", [1i64, 2]), Filter::not(Filter::ne("name", "x"))]),
            order_by: vec![Order::parse("-name"), Order::parse("id")],
            limit: Some(5),
            offset: None,
            columns: Vec::new(),
        };
        let st = Dialect::POSTGRES.select(&schema(), &q);
        // NULLs placed on the nullable `name`; the NOT NULL `id` sorts as an
        // index reads it.
        assert_eq!(
            st.sql,
            r#"SELECT "id", "name" FROM "t" WHERE ("id" IN ($1, $2) OR (NOT "name" <> $3)) ORDER BY "name" DESC NULLS LAST, "id" ASC LIMIT $4 OFFSET $5"#
        );
        assert_eq!(
            st.params,
            vec![Value::Int(1), Value::Int(2), Value::Text("x".into()), Value::Int(5), Value::Int(0)]
        );
    }

    #[test]
    fn empty_lists_and_quoting() {
        let mut p = Vec::new();
        assert_eq!(Dialect::SQLITE.filter(&Filter::is_in::<i64>("a", []), &mut p), "1=0");
        assert_eq!(Dialect::SQLITE.filter(&Filter::and([]), &mut p), "1=1");
        assert_eq!(Dialect::SQLITE.filter(&Filter::or([]), &mut p), "1=0");
        assert!(p.is_empty());
        assert_eq!(Dialect::MYSQL.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn ddl_and_writes() {
        let s = schema();
        assert_eq!(
            Dialect::SQLITE.create_table(&s),
            r#"CREATE TABLE IF NOT EXISTS "t" ("id" INTEGER NOT NULL, "name" TEXT, PRIMARY KEY ("id"))"#
        );
        assert_eq!(
            Dialect::SQLITE.create_index(&s, &s.indexes[0]),
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "t__by_name" ON "t" ("name") WHERE "name" IS NOT NULL"#,
            "a row with a NULL in a unique key never collides: it is left out of the index"
        );
        assert_eq!(
            Dialect::MYSQL.create_index(&s, &s.indexes[0]),
            r#"CREATE UNIQUE INDEX IF NOT EXISTS `t__by_name` ON `t` (`name`)"#
        );
        let plain = Index { unique: false, ..s.indexes[0].clone() };
        assert_eq!(
            Dialect::POSTGRES.create_index(&s, &plain),
            r#"CREATE INDEX IF NOT EXISTS "t__by_name" ON "t" ("name") WHERE "name" IS NOT NULL"#
        );
        let by_id = Index { columns: vec!["id".into()], ..plain };
        assert_eq!(
            Dialect::SQLITE.create_index(&s, &by_id),
            r#"CREATE INDEX IF NOT EXISTS "t__by_name" ON "t" ("id")"#
        );
        assert_eq!(
            Dialect::POSTGRES.insert("t", &["id".into(), "name".into()]),
            r#"INSERT INTO "t" ("id", "name") VALUES ($1, $2)"#
        );
        let up = Dialect::POSTGRES.update("t", &Filter::eq("id", 1i64), &[("name".into(), Value::Null)]);
        assert_eq!(up.sql, r#"UPDATE "t" SET "name" = $1 WHERE "id" = $2"#);
        assert_eq!(up.params, vec![Value::Null, Value::Int(1)]);
        let del = Dialect::SQLITE.delete("t", &Filter::All);
        assert_eq!(del.sql, r#"DELETE FROM "t" WHERE 1=1"#);
        let mut wide = s.clone();
        wide.columns.extend(["a", "b", "c", "d"].map(|n| Column {
            name: n.into(),
            ty: ColumnType::Text,
            nullable: false,
        }));
        wide.indexes.push(Index {
            name: "abcd".into(),
            columns: ["id", "a", "b", "c", "d"].map(String::from).to_vec(),
            unique: false,
        });
        assert_eq!(Dialect::MYSQL.key_chars(&wide, "a"), Some((3072 - 8) / 16), "four text columns share the index");
        assert_eq!(Dialect::MYSQL.key_chars(&wide, "name"), Some(255), "name's own index is roomy");
        assert!(
            Dialect::MYSQL
                .create_table(&wide)
                .contains("`a` VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL")
        );
        let mut json = Vec::new();
        let cmp = Dialect::POSTGRES.filter(&Filter::eq("doc", Value::Json("{}".into())), &mut json);
        assert_eq!(cmp, r#""doc"::text = $1"#, "PostgreSQL's json has no = operator: compare the text");
        let c = Dialect::POSTGRES.count("t", &Filter::All, true);
        assert!(c.sql.contains("FOR UPDATE"), "{}", c.sql);
        assert!(!Dialect::SQLITE.count("t", &Filter::All, true).sql.contains("FOR UPDATE"));
    }
}
