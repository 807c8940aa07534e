//! # tenure-sqlite
//!
//! SQLite — the embedded default, nothing to install or start — for
//! [tenure](https://docs.rs/tenure): connections opened with the right settings at the right
//! scope, pooled by [`tenure::pool::Pool`] so that a connection is never lent inside a
//! transaction.
//!
//! | what | where |
//! |---|---|
//! | which database, the settings, the pool's create / reset / close | [`Manager`], [`Builder`] |
//! | the pooled connection (derefs to `rusqlite::Connection`, [`Close`](tenure::Close)) | [`Connection`] |
//! | the pool configuration SQLite wants | [`pool_config`] |
//! | one writer, many readers | [`Pools`] |
//! | transactions: `BEGIN IMMEDIATE` for writes, savepoints, the state read from SQLite | [`tenure::tx::Transactional`] for [`Connection`] |
//! | errors naming the database and the operation | [`Error`], [`Operation`] |
//! | async code: a closure on a blocking thread, interrupted if the caller gives up | [`run()`], [`AsyncConnection`] |
//! | test hooks (feature `testing`): faults and a ledger of real connections | [`hooks`] |
//!
//! ```
//! use tenure::pool::Pool;
//! let dir = tempfile::tempdir()?;
//! let manager = tenure_sqlite::Manager::file(dir.path().join("app.db")).build()?; // WAL, once
//! let pool = Pool::builder(manager).config(tenure_sqlite::pool_config()).build()?;
//!
//! let conn = pool.get_blocking()?;
//! conn.execute_batch("CREATE TABLE users (name TEXT NOT NULL)")?;
//! conn.execute("BEGIN", [])?; // a transaction left open ...
//! conn.execute("INSERT INTO users VALUES ('ada')", [])?;
//! drop(conn);                  // ... is rolled back before the connection is lent again
//!
//! let conn = pool.get_blocking()?;
//! assert!(conn.is_autocommit());
//! let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
//! assert_eq!(n, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Settings, at the scope SQLite keeps them: WAL journal mode is stored in the file, so
//! [`Builder::build`] sets it once; `busy_timeout` (default 5 s), `foreign_keys` (on),
//! `synchronous` (opt-in), the prepared-statement cache and the init hook are
//! per-connection, so every create applies them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod async_connection;
mod connection;
mod error;
pub mod hooks;
mod manager;
mod pools;
mod run;
mod tx;
mod worker;

pub use async_connection::AsyncConnection;
pub use connection::Connection;
pub use error::{Error, Operation};
pub use manager::{Builder, Manager, Synchronous};
pub use pools::{Pools, PoolsError};
pub use run::run;

use tenure::pool::{PoolConfig, Validation};

/// The pool configuration for SQLite: [`PoolConfig::default`] except
/// `validation: Validation::Never` (a checkout check tells nothing about a local file, and
/// a blocking one costs a thread hop, or a new thread per check without a runtime),
/// `max_lifetime: None` (retiring a connection only throws away its statement cache) and
/// `name: "sqlite"`.
///
/// ```
/// use tenure::pool::{PoolConfig, Validation};
/// let config = PoolConfig { max_size: 4, ..tenure_sqlite::pool_config() };
/// assert_eq!(config.validation, Validation::Never);
/// assert_eq!(config.max_lifetime, None);
/// ```
pub fn pool_config() -> PoolConfig {
    PoolConfig {
        validation: Validation::Never,
        max_lifetime: None,
        name: "sqlite".into(),
        ..PoolConfig::default()
    }
}
