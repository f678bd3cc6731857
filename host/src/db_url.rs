//! Database URLs: the seed's SQLAlchemy-style URLs, accepted as written.

use std::path::PathBuf;

use crate::Error;

/// Where the data lives, parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// `memory://`: process memory, for tests.
    Memory,
    /// `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite+aiosqlite:///…`.
    Sqlite(PathBuf),
    /// `jsonl:///dir` (relative) or `jsonl:////abs/dir`.
    Jsonl(PathBuf),
    /// `postgres://…`, `postgresql://…`, `postgresql+asyncpg://…` (normalised to `postgres://…`).
    Postgres(String),
    /// `mysql://…`, `mysql+aiomysql://…`, `mariadb://…` (normalised to `mysql://…`).
    Mysql(String),
}

impl DbUrl {
    /// Parses a URL.
    ///
    /// SQLAlchemy's path rule applies to `sqlite` and `jsonl`: three slashes
    /// then a relative path (to the working directory), four slashes for an
    /// absolute one.
    ///
    /// ```
    /// use nexau_session::DbUrl;
    /// use std::path::PathBuf;
    /// assert_eq!(DbUrl::parse("sqlite+aiosqlite:///sessions.db").unwrap(), DbUrl::Sqlite(PathBuf::from("sessions.db")));
    /// assert_eq!(DbUrl::parse("sqlite:////var/data/s.db").unwrap(), DbUrl::Sqlite(PathBuf::from("/var/data/s.db")));
    /// assert_eq!(DbUrl::parse("memory://").unwrap(), DbUrl::Memory);
    /// assert!(DbUrl::parse("oracle://x").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<DbUrl, Error> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::Invalid(format!("not a database URL: {url:?} (expected e.g. sqlite:///sessions.db)"))
        })?;
        let driver = scheme.split('+').next().unwrap_or(scheme).to_ascii_lowercase();
        match driver.as_str() {
            "memory" => Ok(DbUrl::Memory),
            "sqlite" => Ok(DbUrl::Sqlite(file_path(url, rest)?)),
            "jsonl" => Ok(DbUrl::Jsonl(file_path(url, rest)?)),
            "postgres" | "postgresql" => Ok(DbUrl::Postgres(format!("postgres://{rest}"))),
            "mysql" | "mariadb" => Ok(DbUrl::Mysql(format!("mysql://{rest}"))),
            other => Err(Error::Invalid(format!(
                "unsupported database URL scheme {other:?} in {url:?} (use sqlite, postgresql, mysql, jsonl or memory)"
            ))),
        }
    }
}

/// `rest` is what follows `scheme://`: `/rel/path` or `//abs/path`.
fn file_path(url: &str, rest: &str) -> Result<PathBuf, Error> {
    let path = rest.strip_prefix('/').ok_or_else(|| {
        Error::Invalid(format!("{url:?} names no file: write three slashes and a path, e.g. sqlite:///sessions.db"))
    })?;
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return Err(Error::Invalid(format!("{url:?} names no file: write a path after the slashes")));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_urls_are_accepted_as_written() {
        assert_eq!(DbUrl::parse("sqlite:///sessions.db").unwrap(), DbUrl::Sqlite("sessions.db".into()));
        assert_eq!(DbUrl::parse("sqlite+aiosqlite:///a/b.db").unwrap(), DbUrl::Sqlite("a/b.db".into()));
        assert_eq!(DbUrl::parse("jsonl:////tmp/x").unwrap(), DbUrl::Jsonl("/tmp/x".into()));
        assert_eq!(
            DbUrl::parse("postgresql+asyncpg://u@h:5432/db").unwrap(),
            DbUrl::Postgres("postgres://u@h:5432/db".into())
        );
        assert_eq!(DbUrl::parse("mysql+aiomysql://root@h/test").unwrap(), DbUrl::Mysql("mysql://root@h/test".into()));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for bad in ["sessions.db", "sqlite://", "sqlite:///", "redis://x"] {
            let err = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!err.is_empty() && !err.contains('\n'), "{bad}: {err}");
        }
    }
}
