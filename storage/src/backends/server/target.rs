//! The server URL of a PostgreSQL or MySQL/MariaDB backend, as users write it
//! (`postgresql+asyncpg://user:pass@host:5432/db?pool_size=5`), parsed into
//! its parts, with the pool options of its query.

use std::fmt;
use std::time::Duration;

use crate::{DbUrl, StorageError};

/// The `?query` options every server backend accepts.
pub(crate) const POOL_OPTIONS: [&str; 3] = ["pool_size", "pool_timeout", "connect_timeout"];

/// Connections kept by one backend unless `pool_size` says otherwise.
const DEFAULT_POOL_SIZE: usize = 10;
/// How long a call waits for a free connection unless `pool_timeout` says otherwise.
const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting may take unless `connect_timeout` says otherwise.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed server URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// User name (percent-decoded), if given.
    pub user: Option<String>,
    /// Password (percent-decoded), if given.
    pub password: Option<String>,
    /// Host name or address (default `127.0.0.1`).
    pub host: String,
    /// Port, if given (else the backend's default).
    pub port: Option<u16>,
    /// Database name, if given.
    pub database: Option<String>,
    /// Most connections in the pool (`pool_size`).
    pub pool_size: usize,
    /// How long to wait for a free connection (`pool_timeout`, seconds).
    pub pool_timeout: Duration,
    /// How long connecting may take (`connect_timeout`, seconds).
    pub connect_timeout: Duration,
    /// The other `?query` options, for the backend to read (already checked
    /// against the names it accepts).
    pub extra: Vec<(String, String)>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("user", &self.user)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

fn invalid(backend: &str, msg: impl fmt::Display) -> StorageError {
    StorageError::Url(format!("{backend} URL: {msg}"))
}

/// Decodes `%XX` escapes (user names and passwords may hold `@`, `:`, `/`).
fn percent_decode(backend: &str, s: &str) -> Result<String, StorageError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| invalid(backend, format!("bad percent escape in {s:?}")))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(backend, "a percent escape decodes to bytes that are not UTF-8"))
}

fn seconds(backend: &str, name: &str, value: &str) -> Result<Duration, StorageError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            invalid(backend, format!("option {name}={value:?}: expected seconds, more than 0 and at most 86400"))
        })
}

impl Target {
    /// The target of a parsed server URL (its options already checked
    /// against the backend's list by [`DbUrl::parse`]).
    pub(crate) fn from_url(url: &DbUrl) -> Result<Target, StorageError> {
        let backend = url.backend_name();
        let server = url.server().ok_or_else(|| invalid(backend, "expected scheme://host/database"))?;
        let mut target = Target::parse_server(backend, server)?;
        for (name, value) in url.options() {
            target.set_option(backend, name, value)?;
        }
        Ok(target)
    }

    /// Parses `url` (`scheme://[user[:password]@]host[:port][/database][?k=v&…]`)
    /// for backend `backend`, accepting the pool options and `extra_options`.
    #[cfg(test)]
    fn parse(backend: &str, url: &str, extra_options: &[&str]) -> Result<Target, StorageError> {
        let (server, query) = url.split_once('?').unwrap_or((url, ""));
        let mut target = Target::parse_server(backend, server)?;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !POOL_OPTIONS.contains(&name) && !extra_options.contains(&name) {
                return Err(invalid(backend, format!("unknown option {name:?}")));
            }
            target.set_option(backend, name, &percent_decode(backend, value)?)?;
        }
        Ok(target)
    }

    /// Parses the server part of a URL: `scheme://[user[:password]@]host[:port][/database]`.
    fn parse_server(backend: &str, url: &str) -> Result<Target, StorageError> {
        let (_, rest) = url.split_once("://").ok_or_else(|| invalid(backend, "expected scheme://host/database"))?;
        if rest.contains('#') {
            return Err(invalid(backend, "a URL fragment (#…) is not supported"));
        }
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let database = database.split('?').next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(percent_decode(backend, u)?), Some(percent_decode(backend, p)?)),
                None => (Some(percent_decode(backend, u)?), None),
            },
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| invalid(backend, format!("bad port {p:?}")))?;
                (h, Some(port))
            }
            _ => (hostport, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let database = percent_decode(backend, database)?;
        Ok(Target {
            user: user.filter(|u| !u.is_empty()),
            password,
            host: if host.is_empty() { "127.0.0.1".to_owned() } else { host.to_owned() },
            port,
            database: (!database.is_empty()).then_some(database),
            pool_size: DEFAULT_POOL_SIZE,
            pool_timeout: DEFAULT_POOL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            extra: Vec::new(),
        })
    }

    /// Applies option `name=value`: a pool option, or one for the backend to read.
    fn set_option(&mut self, backend: &str, name: &str, value: &str) -> Result<(), StorageError> {
        match name {
            "pool_size" => {
                self.pool_size = value.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    invalid(backend, format!("option pool_size={value:?}: expected a number from 1 to 1000"))
                })?;
            }
            "pool_timeout" => self.pool_timeout = seconds(backend, name, value)?,
            "connect_timeout" => self.connect_timeout = seconds(backend, name, value)?,
            _ => self.extra.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// The value of extra option `name`, if given.
    #[cfg(any(feature = "postgres", test))]
    pub(crate) fn option(&self, name: &str) -> Option<&str> {
        self.extra.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `host H port P database D` for error messages (never the password).
    pub(crate) fn describe(&self, default_port: u16) -> String {
        format!(
            "host {} port {} database {}",
            self.host,
            self.port.unwrap_or(default_port),
            self.database.as_deref().unwrap_or("(default)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_options() {
        let t = Target::parse(
            "postgres",
            "postgresql+asyncpg://app:p%40ss@db.local:6432/sessions?pool_size=3&pool_timeout=1.5&schema=s1",
            &["schema"],
        )
        .unwrap();
        assert_eq!(t.user.as_deref(), Some("app"));
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!((t.host.as_str(), t.port, t.database.as_deref()), ("db.local", Some(6432), Some("sessions")));
        assert_eq!(t.pool_size, 3);
        assert_eq!(t.pool_timeout, Duration::from_millis(1500));
        assert_eq!(t.option("schema"), Some("s1"));
        assert_eq!(t.describe(5432), "host db.local port 6432 database sessions");
        let bare = Target::parse("mysql", "mysql://root@127.0.0.1/test", &[]).unwrap();
        assert_eq!((bare.port, bare.password.as_deref(), bare.pool_size), (None, None, DEFAULT_POOL_SIZE));
        assert_eq!(bare.describe(3306), "host 127.0.0.1 port 3306 database test");
    }

    #[test]
    fn bad_urls_are_refused_by_name() {
        let err = |url: &str| Target::parse("mysql", url, &[]).unwrap_err().to_string();
        assert!(err("mysql://h/db?sslmode=require").contains("unknown option \"sslmode\""));
        let url = DbUrl::parse("postgresql+asyncpg://u:p@db:6000/x?pool_size=2&schema=s").unwrap();
        let t = Target::from_url(&url).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.pool_size, t.option("schema")), ("db", Some(6000), 2, Some("s")));
        assert!(err("mysql://h:port/db").contains("bad port"));
        assert!(err("mysql://h/db?pool_size=0").contains("pool_size"));
        assert!(err("mysql://h/db?connect_timeout=-1").contains("connect_timeout"));
        assert!(err("h/db").contains("scheme://"));
    }
}
