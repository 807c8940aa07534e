//! [`Connection`]: a `rusqlite::Connection` with what the pool's return hooks need.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use tenure::Close;

use crate::error::{Error, Operation};
use crate::hooks::{ConnHooks, Hook};
use crate::worker::{Sender, Worker};

/// One SQLite connection, opened by a [`Manager`](crate::Manager) with its settings
/// applied. Derefs to [`rusqlite::Connection`], so every rusqlite method is there
/// (`execute`, `prepare_cached`, `transaction`, …); closes on drop (errors ignored, as
/// rusqlite's `Drop` does) or through [`Close`], which returns the error.
///
/// It is the pool's resource: besides the connection it carries its interrupt handle
/// (to interrupt a statement whose async caller gave up), the database's name for errors, and the test hooks.
/// Its own operations are associated functions ([`Connection::database`]), so they never
/// shadow rusqlite's methods.
///
/// ```
/// use tenure::Close;
/// let manager = tenure_sqlite::Manager::memory("doc-connection").build()?;
/// let conn = manager.open()?;
/// conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)")?;
/// let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0))?;
/// assert_eq!(x, 1);
/// conn.close()?; // the manual protocol: the error, if any, comes back
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Connection {
    conn: rusqlite::Connection,
    database: Arc<str>,
    interrupt: Arc<rusqlite::InterruptHandle>,
    pub(crate) hooks: ConnHooks,
    /// A control statement was started and has not returned (it panicked, say): the
    /// transaction state is unknown until a rollback is confirmed.
    pub(crate) unknown: bool,
    /// 1 + open savepoints, while a transaction this adapter began is open.
    pub(crate) depth: u32,
    /// The connection's own thread for async callers ([`run`](crate::run)), started by
    /// the first `run`; it ends when this sender is dropped with the connection.
    worker: Option<Worker>,
}

impl Connection {
    pub(crate) fn new(conn: rusqlite::Connection, database: Arc<str>, hooks: ConnHooks) -> Self {
        let interrupt = Arc::new(conn.get_interrupt_handle());
        Connection {
            conn,
            database,
            interrupt,
            hooks,
            unknown: false,
            depth: 0,
            worker: None,
        }
    }

    /// The connection's thread, started now if it has none (`None` if the OS refuses a
    /// thread: `run` then uses tokio's blocking pool).
    pub(crate) fn worker(this: &mut Self) -> Option<Sender> {
        if this.worker.is_none() {
            this.worker = Worker::start();
        }
        this.worker.as_ref().map(Worker::sender)
    }

    /// The database this connection is open on: its path as given, or `memory:NAME`.
    ///
    /// ```
    /// let manager = tenure_sqlite::Manager::memory("doc-database").build()?;
    /// let conn = manager.open()?;
    /// assert_eq!(tenure_sqlite::Connection::database(&conn), "memory:doc-database");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn database(this: &Self) -> &str {
        &this.database
    }

    pub(crate) fn database_arc(this: &Self) -> &Arc<str> {
        &this.database
    }

    pub(crate) fn interrupt_handle(this: &Self) -> Arc<rusqlite::InterruptHandle> {
        this.interrupt.clone()
    }

    /// Rolls back whatever transaction is open and checks that none is left: the pool's
    /// reset. "No transaction is active" is not an error (SQLite may have rolled back on
    /// its own, after an interrupt or a full disk).
    pub(crate) fn roll_back_all(&mut self) -> Result<(), Error> {
        self.hooks.check(Hook::Reset, &self.database)?;
        if self.conn.is_autocommit() {
            self.unknown = false;
            self.depth = 0;
            return Ok(());
        }
        let rolled = self.conn.execute_batch("ROLLBACK");
        if self.conn.is_autocommit() {
            self.unknown = false;
            self.depth = 0;
            return Ok(());
        }
        Err(match rolled {
            Err(e) => Error::sqlite(&self.database, Operation::Rollback, e),
            Ok(()) => Error::detail(
                &self.database,
                Operation::Rollback,
                crate::error::Detail::StillInTransaction,
            ),
        })
    }
}

impl Deref for Connection {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        &self.conn
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }
}

/// Closes the connection (rusqlite's `close`: finalizes its cached statements, then
/// `sqlite3_close`). On failure the connection rusqlite hands back is dropped, which
/// closes it for good and ignores a second failure.
///
/// ```
/// use tenure::Close;
/// let conn = tenure_sqlite::Manager::memory("doc-close").build()?.open()?;
/// conn.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Close for Connection {
    type Error = Error;
    fn close(self) -> Result<(), Error> {
        let Connection {
            conn,
            database,
            interrupt: _,
            hooks,
            unknown: _,
            depth: _,
            worker: _,
        } = self;
        let closed = conn
            .close()
            .map_err(|(_, e)| Error::sqlite(&database, Operation::Close, e));
        let injected = hooks.closed(&database);
        closed.and(injected)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("database", &self.database)
            .field("autocommit", &self.conn.is_autocommit())
            .finish()
    }
}
