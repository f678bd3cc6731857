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

use crate::{CmpOp, Column, ColumnType, Filter, Index, Query, TableSchema, Value};

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
    /// Emit `NULLS FIRST` ascending and `NULLS LAST` descending (PostgreSQL).
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
    /// The SQL type of a column type.
    pub column_type: fn(ColumnType) -> &'static str,
    /// Whether `Check` ops lock the rows they count (`FOR UPDATE`). SQLite
    /// does not need it: `BEGIN IMMEDIATE` already holds the write lock.
    pub lock_checked_rows: bool,
}

/// The SQLite type of a column type (also how SQLite reports it back).
pub fn sqlite_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool | ColumnType::Int => "INTEGER",
        ColumnType::Float => "REAL",
        ColumnType::Text | ColumnType::Json | ColumnType::Timestamp => "TEXT",
        ColumnType::Bytes => "BLOB",
    }
}

fn postgres_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Int => "BIGINT",
        ColumnType::Float => "DOUBLE PRECISION",
        ColumnType::Text | ColumnType::Json | ColumnType::Timestamp => "TEXT",
        ColumnType::Bytes => "BYTEA",
    }
}

fn mysql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Int => "BIGINT",
        ColumnType::Float => "DOUBLE",
        ColumnType::Text | ColumnType::Json | ColumnType::Timestamp => "TEXT",
        ColumnType::Bytes => "BLOB",
    }
}

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
        column_type: sqlite_type,
        lock_checked_rows: false,
    };
    /// PostgreSQL: `$n`, double quotes, explicit NULL order.
    pub const POSTGRES: Dialect = Dialect {
        placeholder: Placeholder::Dollar,
        quote: '"',
        nulls_order: NullsOrder::Explicit,
        column_type: postgres_type,
        lock_checked_rows: true,
    };
    /// MySQL/MariaDB: `?`, backticks, native NULL order.
    pub const MYSQL: Dialect = Dialect {
        placeholder: Placeholder::Question,
        quote: '`',
        nulls_order: NullsOrder::Native,
        column_type: mysql_type,
        lock_checked_rows: true,
    };

    /// Quotes an identifier, doubling any quote character inside it.
    ///
    /// ```
    /// use nexau_session_storage::sql::Dialect;
    /// assert_eq!(Dialect::SQLITE.quote_ident("a\"b"), "\"a\"\"b\"");
    /// ```
    pub fn quote_ident(&self, name: &str) -> String {
        let q = self.quote;
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    fn quoted_list<S: AsRef<str>>(&self, names: &[S]) -> String {
        names.iter().map(|n| self.quote_ident(n.as_ref())).collect::<Vec<_>>().join(", ")
    }

    /// Pushes `value` onto `params` and returns its placeholder.
    pub fn bind(&self, value: Value, params: &mut Vec<Value>) -> String {
        params.push(value);
        match self.placeholder {
            Placeholder::Question => "?".to_owned(),
            Placeholder::Dollar => format!("${}", params.len()),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for `schema`, with its primary key.
    pub fn create_table(&self, schema: &TableSchema) -> String {
        let mut parts: Vec<String> = schema
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " NOT NULL" };
                format!("{} {}{}", self.quote_ident(&c.name), (self.column_type)(c.ty), null)
            })
            .collect();
        if !schema.primary_key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", self.quoted_list(&schema.primary_key)));
        }
        format!("CREATE TABLE IF NOT EXISTS {} ({})", self.quote_ident(&schema.name), parts.join(", "))
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
            (self.column_type)(column.ty)
        )
    }

    /// The database-wide name of index `index` of `table`.
    pub fn index_name(table: &str, index: &Index) -> String {
        format!("{table}__{}", index.name)
    }

    /// `CREATE [UNIQUE] INDEX IF NOT EXISTS` for one index of `schema`.
    pub fn create_index(&self, schema: &TableSchema, index: &Index) -> String {
        format!(
            "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.quote_ident(&Self::index_name(&schema.name, index)),
            self.quote_ident(&schema.name),
            self.quoted_list(&index.columns)
        )
    }

    /// Compiles a filter into a boolean SQL expression, binding its values.
    ///
    /// SQL three-valued logic applies: a comparison with NULL is unknown, and
    /// so is its negation; a row matches only when the whole expression is true.
    pub fn filter(&self, filter: &Filter, params: &mut Vec<Value>) -> String {
        match filter {
            Filter::All => "1=1".to_owned(),
            Filter::Cmp { field, op, value } => {
                let op = match op {
                    CmpOp::Eq => "=",
                    CmpOp::Ne => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                let ph = self.bind(value.clone(), params);
                format!("{} {op} {ph}", self.quote_ident(field))
            }
            Filter::In { values, .. } if values.is_empty() => "1=0".to_owned(),
            Filter::In { field, values } => {
                let phs: Vec<String> = values.iter().map(|v| self.bind(v.clone(), params)).collect();
                format!("{} IN ({})", self.quote_ident(field), phs.join(", "))
            }
            Filter::IsNull(field) => format!("{} IS NULL", self.quote_ident(field)),
            Filter::And(v) if v.is_empty() => "1=1".to_owned(),
            Filter::Or(v) if v.is_empty() => "1=0".to_owned(),
            Filter::And(v) => self.join(v, " AND ", params),
            Filter::Or(v) => self.join(v, " OR ", params),
            Filter::Not(f) => format!("(NOT {})", self.filter(f, params)),
        }
    }

    fn join(&self, filters: &[Filter], sep: &str, params: &mut Vec<Value>) -> String {
        let parts: Vec<String> = filters.iter().map(|f| self.filter(f, params)).collect();
        format!("({})", parts.join(sep))
    }

    /// `SELECT <every column> FROM table WHERE … ORDER BY … LIMIT … OFFSET …`.
    pub fn select(&self, schema: &TableSchema, query: &Query) -> Statement {
        let mut params = Vec::new();
        let columns: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {}",
            self.quoted_list(&columns),
            self.quote_ident(&schema.name),
            self.filter(&query.filter, &mut params)
        );
        if !query.order_by.is_empty() {
            let keys: Vec<String> = query
                .order_by
                .iter()
                .map(|o| {
                    let dir = match (o.descending, self.nulls_order) {
                        (false, NullsOrder::Native) => "ASC",
                        (true, NullsOrder::Native) => "DESC",
                        (false, NullsOrder::Explicit) => "ASC NULLS FIRST",
                        (true, NullsOrder::Explicit) => "DESC NULLS LAST",
                    };
                    format!("{} {dir}", self.quote_ident(&o.field))
                })
                .collect();
            sql.push_str(" ORDER BY ");
            sql.push_str(&keys.join(", "));
        }
        if query.limit.is_some() || query.offset.is_some() {
            let clamp = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
            let limit = self.bind(clamp(query.limit.unwrap_or(u64::MAX)), &mut params);
            let offset = self.bind(clamp(query.offset.unwrap_or(0)), &mut params);
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
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
        let mut dummy = Vec::with_capacity(columns.len());
        let phs: Vec<String> = columns.iter().map(|_| self.bind(Value::Null, &mut dummy)).collect();
        format!("INSERT INTO {} ({}) VALUES ({})", self.quote_ident(table), self.quoted_list(columns), phs.join(", "))
    }

    /// `UPDATE table SET … WHERE …`.
    pub fn update(&self, table: &str, filter: &Filter, set: &[(String, Value)]) -> Statement {
        let mut params = Vec::new();
        let assignments: Vec<String> = set
            .iter()
            .map(|(c, v)| format!("{} = {}", self.quote_ident(c), self.bind(v.clone(), &mut params)))
            .collect();
        let cond = self.filter(filter, &mut params);
        let sql = format!("UPDATE {} SET {} WHERE {cond}", self.quote_ident(table), assignments.join(", "));
        Statement { sql, params }
    }

    /// `DELETE FROM table WHERE …`.
    pub fn delete(&self, table: &str, filter: &Filter) -> Statement {
        let mut params = Vec::new();
        let cond = self.filter(filter, &mut params);
        Statement { sql: format!("DELETE FROM {} WHERE {cond}", self.quote_ident(table)), params }
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
        };
        let st = Dialect::POSTGRES.select(&schema(), &q);
        assert_eq!(
            st.sql,
            r#"SELECT "id", "name" FROM "t" WHERE ("id" IN ($1, $2) OR (NOT "name" <> $3)) ORDER BY "name" DESC NULLS LAST, "id" ASC NULLS FIRST LIMIT $4 OFFSET $5"#
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
            r#"CREATE UNIQUE INDEX IF NOT EXISTS "t__by_name" ON "t" ("name")"#
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
        let c = Dialect::POSTGRES.count("t", &Filter::All, true);
        assert!(c.sql.contains("FOR UPDATE"), "{}", c.sql);
        assert!(!Dialect::SQLITE.count("t", &Filter::All, true).sql.contains("FOR UPDATE"));
    }
}
