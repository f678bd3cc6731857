//! Database URLs: SQLAlchemy-style URLs (`sqlite+aiosqlite:///sessions.db`,
//! `postgresql+asyncpg://user:pass@host/db`), accepted as written, resolved
//! to a registered backend, and shown only with their password replaced by
//! `***` ([`redact`]).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StorageError;
use crate::backends::{BACKENDS, BackendKind, TargetKind};

/// Where the data lives, parsed from a URL: the backend that serves it, its
/// target (a path, a server) and the options of its `?query`.
///
/// Both `Display` and `Debug` show the URL with its password redacted.
///
/// ```
/// use nexau_session_storage::DbUrl;
/// use std::path::Path;
/// let url = DbUrl::parse("sqlite+aiosqlite:///sessions.db").unwrap();
/// assert_eq!(url.backend_name(), "sqlite");
/// assert_eq!(url.path(), Some(Path::new("sessions.db")));
/// assert_eq!(DbUrl::parse("sqlite:////var/data/s.db").unwrap().path(), Some(Path::new("/var/data/s.db")));
/// assert_eq!(DbUrl::parse("memory://").unwrap().backend_name(), "memory");
/// assert!(DbUrl::parse("oracle://x").is_err());
/// assert!(DbUrl::parse("sqlite:///s.db?mode=ro").is_err()); // no option is silently ignored
/// ```
#[derive(Clone)]
pub struct DbUrl {
    kind: &'static BackendKind,
    target: Target,
    options: Vec<(String, String)>,
}

/// What a URL points at, by the kind of its backend.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    None,
    Path(PathBuf),
    /// The URL with its scheme normalised to the backend's first scheme and
    /// without its query: `postgres://user:pass@host:5432/db`.
    Server(String),
}

impl DbUrl {
    /// Parses a URL and resolves its backend from the registry
    /// ([`BACKENDS`]).
    ///
    /// The scheme's driver (before any `+`, so `sqlite+aiosqlite` is
    /// `sqlite`) picks the backend. SQLAlchemy's path rule applies to
    /// backends on files (`sqlite`, `jsonl`): three slashes then a path
    /// relative to the working directory, four slashes for an absolute one.
    /// A `?query` option the backend does not declare, or any fragment, is
    /// refused, naming it, rather than ignored. Errors show the URL through
    /// [`redact`].
    pub fn parse(url: &str) -> Result<DbUrl, StorageError> {
        let url = url.trim();
        let shown = redact(url);
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            StorageError::Url(format!("not a database URL: {shown:?} (expected e.g. sqlite:///sessions.db)"))
        })?;
        let driver = scheme.split('+').next().unwrap_or(scheme).to_ascii_lowercase();
        let kind = BACKENDS.iter().copied().find(|k| k.schemes.contains(&driver.as_str())).ok_or_else(|| {
            let known: Vec<&str> = BACKENDS.iter().map(|k| k.schemes[0]).collect();
            StorageError::Url(format!(
                "unsupported database URL scheme {driver:?} in {shown:?} (this build knows {})",
                known.join(", ")
            ))
        })?;
        if rest.contains('#') {
            return Err(StorageError::Url(format!("{shown:?}: a database URL takes no #fragment")));
        }
        let (body, query) = rest.split_once('?').unwrap_or((rest, ""));
        let options = parse_options(kind, &shown, query)?;
        let target = match kind.target {
            TargetKind::None => {
                if !body.is_empty() {
                    return Err(StorageError::Url(format!("{shown:?}: a {} URL names nothing after `://`", kind.name)));
                }
                Target::None
            }
            TargetKind::Path => Target::Path(file_path(&shown, body)?),
            TargetKind::Server => {
                if body.is_empty() {
                    return Err(StorageError::Url(format!("{shown:?} names no server: write user@host/database")));
                }
                Target::Server(format!("{}://{body}", kind.schemes[0]))
            }
        };
        Ok(DbUrl { kind, target, options })
    }

    /// The registry entry of the backend that serves this URL.
    pub fn kind(&self) -> &'static BackendKind {
        self.kind
    }

    /// The backend's name (`sqlite`, `memory`, ...).
    pub fn backend_name(&self) -> &'static str {
        self.kind.name
    }

    /// The file or directory of a backend on files.
    pub fn path(&self) -> Option<&Path> {
        match &self.target {
            Target::Path(p) => Some(p),
            _ => None,
        }
    }

    /// The server URL of a backend on a server, its scheme normalised
    /// (`postgresql+asyncpg://…` is `postgres://…`) and without the query.
    /// It holds the password: show it only through [`redact`].
    pub fn server(&self) -> Option<&str> {
        match &self.target {
            Target::Server(s) => Some(s),
            _ => None,
        }
    }

    /// The value of the `?name=value` option, if given.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every option given, in order.
    pub fn options(&self) -> &[(String, String)] {
        &self.options
    }
}

impl PartialEq for DbUrl {
    fn eq(&self, other: &Self) -> bool {
        self.kind.name == other.kind.name && self.target == other.target && self.options == other.options
    }
}

impl Eq for DbUrl {}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::None => write!(f, "{}://", self.kind.schemes[0])?,
            Target::Path(path) => write!(f, "{}:///{}", self.kind.schemes[0], path.display())?,
            Target::Server(url) => f.write_str(&redact(url))?,
        }
        for (i, (name, value)) in self.options.iter().enumerate() {
            write!(f, "{}{name}={value}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DbUrl").field(&self.to_string()).finish()
    }
}

/// `url` with the password of its `user:password@` part replaced by `***`:
/// the one way a URL is shown in a message or a log line.
///
/// ```
/// use nexau_session_storage::redact;
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

/// The `name=value` pairs of `query`, each a name `kind` declares.
fn parse_options(kind: &BackendKind, shown: &str, query: &str) -> Result<Vec<(String, String)>, StorageError> {
    let mut options = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !kind.options.contains(&name) {
            let accepted = if kind.options.is_empty() {
                "this backend takes no URL options".to_owned()
            } else {
                format!("{} accepts {}", kind.name, kind.options.join(", "))
            };
            return Err(StorageError::Url(format!("unknown database URL option {name:?} in {shown:?}: {accepted}")));
        }
        if options.iter().any(|(n, _): &(String, String)| n == name) {
            return Err(StorageError::Url(format!("database URL option {name:?} given twice in {shown:?}")));
        }
        options.push((name.to_owned(), value.to_owned()));
    }
    Ok(options)
}

/// `body` is what follows `scheme://` up to any query: `/rel/path` or `//abs/path`.
fn file_path(shown: &str, body: &str) -> Result<PathBuf, StorageError> {
    let path = body.strip_prefix('/').ok_or_else(|| {
        StorageError::Url(format!(
            "{shown:?} names no file: write three slashes and a path, e.g. sqlite:///sessions.db"
        ))
    })?;
    if path.is_empty() {
        return Err(StorageError::Url(format!("{shown:?} names no file: write a path after the slashes")));
    }
    Ok(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_accepted_as_nexau_writes_them() {
        let url = DbUrl::parse("sqlite+aiosqlite:///a/b.db").unwrap();
        assert_eq!((url.backend_name(), url.path()), ("sqlite", Some(Path::new("a/b.db"))));
        assert_eq!(url.to_string(), "sqlite:///a/b.db");
        assert_eq!(DbUrl::parse("memory://").unwrap().to_string(), "memory://");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for bad in ["sessions.db", "sqlite://", "sqlite:///", "redis://x", "sqlite:///s.db?mode=ro", "memory://?x=1"] {
            let err = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!err.is_empty() && !err.contains('\n'), "{bad}: {err}");
        }
        let err = DbUrl::parse("sqlite:///s.db?cache=shared&mode=ro").unwrap_err().to_string();
        assert!(err.contains("\"cache\""), "{err}");
        assert!(DbUrl::parse("sqlite:///s.db#x").is_err());
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
        let err = DbUrl::parse("redis://app:s3cret@h").unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
