//! Reading tables another program keeps in a SQL database (what an import
//! from NexAU, the Python implementation, reads): every row of one table,
//! read-only, each cell as the database hands it over. SQLite cells keep
//! their storage class (integer, real, text, NULL); PostgreSQL and
//! MySQL/MariaDB cells are read as the server's text form of the value
//! (`CAST(... AS TEXT)`), so any column type reads, whatever the other
//! program declared.

use crate::validate::check_identifier;
use crate::{DbUrl, RowSet, StorageError};

/// Every row of `table` in the database `url` names, with its column names
/// in table order; `None` when the database has no such table. Nothing is
/// written, and a SQLite file that does not exist is an error (it is not
/// created).
pub async fn read_table(url: &DbUrl, table: &str) -> Result<Option<RowSet>, StorageError> {
    check_identifier("table", table)?;
    match url.backend_name() {
        #[cfg(feature = "sqlite")]
        "sqlite" => crate::backends::sqlite::read_foreign_table(url, table).await,
        #[cfg(feature = "postgres")]
        "postgres" => crate::backends::postgres::read_foreign_table(url, table).await,
        #[cfg(feature = "mysql")]
        "mysql" => crate::backends::mysql::read_foreign_table(url, table).await,
        other => Err(StorageError::Url(format!(
            "{url}: a {other} store holds no SQL tables to read (use a sqlite, postgresql or mysql URL)"
        ))),
    }
}
