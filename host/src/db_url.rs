//! Database URLs: SQLAlchemy-style URLs (`sqlite+aiosqlite:///sessions.db`,
//! `postgresql+asyncpg://user:pass@host/db`), accepted as written, and shown
//! in messages only with their password replaced by `***` ([`redact`]).

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// Where the data lives, parsed from a URL.
///
/// Both `Display` and `Debug` show the URL with its password redacted.
#[derive(Clone, PartialEq, Eq)]
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
    /// assert!(DbUrl::parse("sqlite:///s.db?mode=ro").is_err()); // no option is silently ignored
    /// ```
    ///
    /// `memory`, `sqlite` and `jsonl` URLs take no options: a query
    /// (`?mode=ro`) or fragment is refused, naming the option, rather than
    /// ignored. Errors show the URL through [`redact`].
    pub fn parse(url: &str) -> Result<DbUrl, Error> {
        let url = url.trim();
        let shown = redact(url);
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::Invalid(format!("not a database URL: {shown:?} (expected e.g. sqlite:///sessions.db)"))
        })?;
        let driver = scheme.split('+').next().unwrap_or(scheme).to_ascii_lowercase();
        match driver.as_str() {
            "memory" => {
                refuse_options(&shown, rest)?;
                Ok(DbUrl::Memory)
            }
            "sqlite" => Ok(DbUrl::Sqlite(file_path(&shown, rest)?)),
            "jsonl" => Ok(DbUrl::Jsonl(file_path(&shown, rest)?)),
            "postgres" | "postgresql" => Ok(DbUrl::Postgres(format!("postgres://{rest}"))),
            "mysql" | "mariadb" => Ok(DbUrl::Mysql(format!("mysql://{rest}"))),
            other => Err(Error::Invalid(format!(
                "unsupported database URL scheme {other:?} in {shown:?} (use sqlite, postgresql, mysql, jsonl or memory)"
            ))),
        }
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Memory => f.write_str("memory://"),
            DbUrl::Sqlite(path) => write!(f, "sqlite:///{}", path.display()),
            DbUrl::Jsonl(path) => write!(f, "jsonl:///{}", path.display()),
            DbUrl::Postgres(url) | DbUrl::Mysql(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Memory => f.write_str("Memory"),
            DbUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DbUrl::Jsonl(path) => f.debug_tuple("Jsonl").field(path).finish(),
            DbUrl::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
            DbUrl::Mysql(url) => f.debug_tuple("Mysql").field(&redact(url)).finish(),
        }
    }
}

/// `url` with the password of its `user:password@` part replaced by `***`:
/// the one way a URL is shown in a message or a log line.
///
/// ```
/// use nexau_session::db_url::redact;
/// assert_eq!(redact("postgresql://app:s3cret@db:5432/x"), "postgresql://app:***@db:5432/x");
/// assert_eq!(redact("sqlite:///sessions.db"), "sqlite:///sessions.db");
/// ```
pub fn redact(url: &str) -> String {
    let (prefix, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else { return url.to_owned() };
    let (userinfo, host) = authority.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{prefix}{user}:***{host}{tail}"),
        None => url.to_owned(),
    }
}

/// Refuses a query or fragment in a URL whose backend takes no options.
fn refuse_options(shown: &str, rest: &str) -> Result<(), Error> {
    if let Some(i) = rest.find(['?', '#']) {
        let options = &rest[i + 1..];
        let first = options.split(['&', '#']).next().unwrap_or("");
        let name = first.split('=').next().unwrap_or("");
        let what = if rest[i..].starts_with('#') { "fragment" } else { "option" };
        return Err(Error::Invalid(format!(
            "unknown database URL {what} {name:?} in {shown:?}: this backend takes no URL options"
        )));
    }
    Ok(())
}

/// `rest` is what follows `scheme://`: `/rel/path` or `//abs/path`.
fn file_path(shown: &str, rest: &str) -> Result<PathBuf, Error> {
    let path = rest.strip_prefix('/').ok_or_else(|| {
        Error::Invalid(format!("{shown:?} names no file: write three slashes and a path, e.g. sqlite:///sessions.db"))
    })?;
    refuse_options(shown, path)?;
    if path.is_empty() {
        return Err(Error::Invalid(format!("{shown:?} names no file: write a path after the slashes")));
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
        for bad in ["sessions.db", "sqlite://", "sqlite:///", "redis://x", "sqlite:///s.db?mode=ro", "memory://?x=1"] {
            let err = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!err.is_empty() && !err.contains('\n'), "{bad}: {err}");
        }
        let err = DbUrl::parse("sqlite:///s.db?cache=shared&mode=ro").unwrap_err().to_string();
        assert!(err.contains("\"cache\""), "{err}");
    }

    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            ("postgresql+asyncpg://app:s3cret@db/x", "postgresql+asyncpg://app:***@db/x"),
            ("mysql://root:p@ss@h/t?ssl=1", "mysql://root:***@h/t?ssl=1"),
            ("postgres://app@db/x", "postgres://app@db/x"),
            ("app:s3cret@db", "app:***@db"),
        ] {
            assert_eq!(redact(url), shown);
        }
        let parsed = DbUrl::parse("postgresql://app:s3cret@db/x").unwrap();
        assert!(!format!("{parsed} {parsed:?}").contains("s3cret"));
        let err = DbUrl::parse("redis://app:s3cret@h").unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
