//! [`Pools`]: one writer, many readers on one database file.

use tenure::pool::{BuildError, Pool, PoolConfig};

use crate::error::Error;
use crate::manager::Builder;
use crate::Manager;

/// A writer pool of one connection and a pool of read-only connections on the same
/// database. SQLite lets one writer in at a time; with every writer queued first come,
/// first served in the writer pool, none of them spins in SQLite's busy handler, none
/// gets `SQLITE_BUSY`, and readers (under WAL) never wait for it.
///
/// What "one writer" means when a reset hangs: a writer returned inside a transaction is
/// reset (`ROLLBACK`) before reuse, bounded by the pool's `return_timeout`. A `ROLLBACK`
/// still running past that bound is abandoned: its slot is freed and the next caller may
/// get a new connection while the old one, its transaction still open, waits on its own
/// thread (it is closed when the `ROLLBACK` ends; `Statistics::abandoned` counts it). For
/// that while two writer connections exist, and the new one's first write may wait in
/// SQLite's busy handler (`busy_timeout`) or get `SQLITE_BUSY` until the old one lets go.
/// The pool of one promises one connection *it lends*, not one connection open.
///
/// ```
/// use tenure::tx::{Mode, Options};
/// let dir = tempfile::tempdir()?;
/// let pools = tenure_sqlite::Pools::new(
///     tenure_sqlite::Manager::file(dir.path().join("app.db"))
///         .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")),
///     4,
///     tenure_sqlite::pool_config(),
/// )?;
/// let mut writer = pools.writer.get_blocking()?;
/// Options { mode: Mode::Immediate, ..Options::default() }.run(&mut *writer, |tx| {
///     tx.execute("INSERT INTO t VALUES (1)", [])?;
///     Ok::<_, tenure_sqlite::Error>(())
/// })?;
/// drop(writer);
/// let reader = pools.readers.get_blocking()?;
/// let n: i64 = reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
/// assert_eq!(n, 1);
/// assert!(reader.execute("INSERT INTO t VALUES (2)", []).is_err()); // read-only
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pools {
    /// One read-write connection (`max_size: 1`).
    pub writer: Pool<Manager>,
    /// Read-only connections.
    pub readers: Pool<Manager>,
}

/// Why [`Pools::new`] failed.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let err = tenure_sqlite::Pools::new(
///     tenure_sqlite::Manager::file(dir.path().join("app.db")), 0, tenure_sqlite::pool_config(),
/// ).unwrap_err();
/// assert!(matches!(err, tenure_sqlite::PoolsError::Build(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolsError {
    /// The database could not be opened (or switched to WAL).
    #[error("could not open the database for the writer and reader pools")]
    Open(#[source] Error),
    /// A pool could not be built (zero readers, say).
    #[error("could not build the writer and reader pools")]
    Build(#[source] BuildError),
}

impl Pools {
    /// The two pools on `builder`'s database: the writer with `builder`'s settings
    /// (`config` with `max_size: 1`, named `sqlite-writer`), then the readers with the same
    /// settings, read-only (`config` with `max_size: readers`, named `sqlite-readers`). The
    /// writer's manager is built and one writer connection opened and closed first, so the
    /// file exists, is in WAL, and the init hook has run once read-write (creating the
    /// schema, say) before any reader opens it. The init hook runs on the readers too: keep
    /// what it writes idempotent (`CREATE TABLE IF NOT EXISTS` on an existing table writes
    /// nothing).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let pools = tenure_sqlite::Pools::new(
    ///     tenure_sqlite::Manager::file(dir.path().join("app.db")), 8, tenure_sqlite::pool_config(),
    /// )?;
    /// assert_eq!((pools.writer.status().max_size, pools.readers.status().max_size), (1, 8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(builder: Builder, readers: usize, config: PoolConfig) -> Result<Pools, PoolsError> {
        let reader_builder = builder.clone().read_only(true);
        let manager = builder.build().map_err(PoolsError::Open)?;
        // One writer connection first: its init hook (which may create the schema) runs
        // before any reader's.
        tenure::Close::close(manager.open().map_err(PoolsError::Open)?)
            .map_err(PoolsError::Open)?;
        let writer = Pool::builder(manager)
            .config(PoolConfig {
                max_size: 1,
                min_idle: config.min_idle.min(1),
                name: "sqlite-writer".into(),
                ..config.clone()
            })
            .build()
            .map_err(PoolsError::Build)?;
        let readers = Pool::builder(reader_builder.build().map_err(PoolsError::Open)?)
            .config(PoolConfig {
                max_size: readers,
                min_idle: config.min_idle.min(readers),
                name: "sqlite-readers".into(),
                ..config
            })
            .build()
            .map_err(PoolsError::Build)?;
        Ok(Pools { writer, readers })
    }
}
