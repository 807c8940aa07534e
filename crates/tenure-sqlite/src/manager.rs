//! [`Manager`] and its [`Builder`]: which database, the settings each connection gets, and
//! how the pool creates, checks, resets and closes connections.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::OpenFlags;
use tenure::error::BoxError;
use tenure::pool::{Checked, Work};
use tenure::tx::{Session, State};
use tenure::Close;

use crate::connection::Connection;
use crate::error::{Detail, Error, Operation};
use crate::hooks::{Hook, Hooks};

/// SQLite's `synchronous` setting (per connection).
///
/// ```
/// let b = tenure_sqlite::Manager::memory("doc-sync").synchronous(tenure_sqlite::Synchronous::Normal);
/// # let _ = b;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `OFF`: no syncs at all (a power loss may corrupt the file).
    Off,
    /// `NORMAL`: under WAL, durable except for the last transactions before a power loss,
    /// never corrupt; far fewer syncs than `FULL`.
    Normal,
    /// `FULL` (SQLite's default).
    Full,
    /// `EXTRA`.
    Extra,
}

impl Synchronous {
    fn as_sql(self) -> &'static str {
        match self {
            Synchronous::Off => "OFF",
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Extra => "EXTRA",
        }
    }
}

type InitHook = Arc<dyn Fn(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync>;

#[derive(Clone)]
enum Target {
    File(PathBuf),
    Memory(String),
}

/// How a [`Manager`] opens connections; from [`Manager::file`] or [`Manager::memory`].
/// Every setting has a default; [`build`](Builder::build) applies the database-wide ones.
///
/// ```
/// use std::time::Duration;
/// use tenure_sqlite::{Manager, Synchronous};
/// let dir = tempfile::tempdir()?;
/// let manager = Manager::file(dir.path().join("app.db"))
///     .busy_timeout(Duration::from_secs(2))
///     .synchronous(Synchronous::Normal)
///     .statement_cache_capacity(64)
///     .init(|conn| conn.execute_batch("CREATE TABLE IF NOT EXISTS kv (k PRIMARY KEY, v)"))
///     .build()?;
/// let conn = manager.open()?;
/// let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
/// assert_eq!(mode, "wal");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build`"]
pub struct Builder {
    target: Target,
    busy_timeout: Duration,
    foreign_keys: bool,
    wal: bool,
    synchronous: Option<Synchronous>,
    statement_cache_capacity: Option<usize>,
    read_only: bool,
    init: Option<InitHook>,
    hooks: Hooks,
}

impl Builder {
    fn new(target: Target) -> Self {
        Builder {
            target,
            busy_timeout: Duration::from_secs(5),
            foreign_keys: true,
            wal: true,
            synchronous: None,
            statement_cache_capacity: None,
            read_only: false,
            init: None,
            hooks: Default::default(),
        }
    }

    /// How long a statement waits for another connection's lock before `SQLITE_BUSY`
    /// (`PRAGMA busy_timeout`, per connection). Default: 5 s.
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-busy").busy_timeout(std::time::Duration::from_millis(250));
    /// # let _ = b;
    /// ```
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// `PRAGMA foreign_keys` on every connection. Default: on (SQLite's own default is
    /// off, for compatibility with 2009).
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-fk").foreign_keys(false);
    /// # let _ = b;
    /// ```
    pub fn foreign_keys(mut self, on: bool) -> Self {
        self.foreign_keys = on;
        self
    }

    /// Whether [`build`](Builder::build) switches a file database to WAL (readers and the
    /// writer do not block each other). Stored in the file, so done once per manager, not
    /// per connection: switching needs an exclusive lock the busy timeout does not wait
    /// for. Default: on (ignored for memory databases and read-only managers).
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-wal").wal(false);
    /// # let _ = b;
    /// ```
    pub fn wal(mut self, on: bool) -> Self {
        self.wal = on;
        self
    }

    /// `PRAGMA synchronous` on every connection. Default: SQLite's (`FULL`);
    /// [`Synchronous::Normal`] is the usual choice under WAL.
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-sync2").synchronous(tenure_sqlite::Synchronous::Normal);
    /// # let _ = b;
    /// ```
    pub fn synchronous(mut self, mode: Synchronous) -> Self {
        self.synchronous = Some(mode);
        self
    }

    /// How many prepared statements each connection caches for rusqlite's
    /// `prepare_cached` (the cache lives with the connection, so it survives in the pool).
    /// Default: rusqlite's (16).
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-cache").statement_cache_capacity(128);
    /// # let _ = b;
    /// ```
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = Some(capacity);
        self
    }

    /// Opens connections read-only (`SQLITE_OPEN_READ_ONLY`): writes fail with
    /// `SQLITE_READONLY`. Default: off.
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-ro").read_only(true);
    /// # let _ = b;
    /// ```
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Runs on every new connection, after the pragmas (register functions, attach
    /// databases, create the schema). Its error fails the create.
    ///
    /// ```
    /// let b = tenure_sqlite::Manager::memory("doc-init")
    ///     .init(|conn| conn.execute_batch("PRAGMA temp_store = MEMORY"));
    /// # let _ = b;
    /// ```
    pub fn init(
        mut self,
        hook: impl Fn(&mut rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.init = Some(Arc::new(hook));
        self
    }

    /// Test hooks: every open, validation, reset and close, and every transaction control
    /// statement (`BEGIN`, `COMMIT`, `ROLLBACK`, savepoints) of its connections, first
    /// consults `faults` (for the kind [`hooks::KIND`](crate::hooks::KIND); see
    /// [`hooks`](crate::hooks)), and every connection opened is live in `ledger` until
    /// closed. An injected close failure still closes the real connection and records its
    /// release.
    ///
    /// ```
    /// use tenure::testing::{Faults, Ledger, Op};
    /// let faults = Faults::new();
    /// faults.fail_nth(Op::Acquire, tenure_sqlite::hooks::KIND, 1);
    /// let ledger = Ledger::new();
    /// let manager = tenure_sqlite::Manager::memory("doc-hooks").hooks(faults, ledger.clone()).build()?;
    /// assert!(manager.open().is_err());         // the injected fault
    /// let conn = manager.open()?;                // a real connection
    /// assert_eq!(ledger.live_count(), 1);
    /// tenure::Close::close(conn)?;
    /// ledger.assert_all_closed();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    pub fn hooks(
        mut self,
        faults: tenure::testing::Faults,
        ledger: tenure::testing::Ledger,
    ) -> Self {
        self.hooks = Hooks::new(faults, ledger);
        self
    }

    /// The manager: for a file database with WAL on (the default, unless read-only),
    /// switches the file to WAL now (and creates the file if it does not exist); for a
    /// memory database, opens the connection that keeps it alive as long as the manager.
    /// A path in a missing directory, or a file that is not a database, fails here at once.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("notes.txt"), "not a database, but long enough to have a header page")?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("notes.txt")).build().unwrap_err();
    /// assert_eq!(err.code(), Some(rusqlite::ErrorCode::NotADatabase));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<Manager, Error> {
        let database: Arc<str> = match &self.target {
            Target::File(path) => path.display().to_string().into(),
            Target::Memory(name) => format!("memory:{name}").into(),
        };
        let mut keeper = None;
        match &self.target {
            Target::Memory(name) => {
                let valid = !name.is_empty()
                    && name.len() <= 200
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                if !valid {
                    return Err(Error::detail(
                        &database,
                        Operation::Open,
                        Detail::BadMemoryName,
                    ));
                }
                let conn = open_raw(&self.target, false, &database)?;
                keeper = Some(Mutex::new(conn));
            }
            Target::File(_) if self.wal && !self.read_only => {
                let conn = open_raw(&self.target, false, &database)?;
                conn.busy_timeout(self.busy_timeout)
                    .map_err(|e| Error::sqlite(&database, Operation::Pragma("busy_timeout"), e))?;
                let mode: String = conn
                    .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                    .map_err(|e| Error::sqlite(&database, pragma_op(&e, "journal_mode"), e))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(Error::detail(
                        &database,
                        Operation::Pragma("journal_mode"),
                        Detail::JournalMode(mode),
                    ));
                }
            }
            Target::File(_) => {}
        }
        Ok(Manager {
            inner: Arc::new(Inner {
                builder: self,
                database,
                _keeper: keeper,
            }),
        })
    }
}

/// `SQLITE_NOTADB` shows at the first statement that reads the file: it is the open that
/// failed, whatever statement found out.
fn pragma_op(e: &rusqlite::Error, pragma: &'static str) -> Operation {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
        Operation::Open
    } else {
        Operation::Pragma(pragma)
    }
}

fn open_raw(
    target: &Target,
    read_only: bool,
    database: &Arc<str>,
) -> Result<rusqlite::Connection, Error> {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    let flags = access | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let opened = match target {
        Target::File(path) => rusqlite::Connection::open_with_flags(path, flags),
        // memdb: a named in-memory database shared by every connection of the process
        // that opens the same name (SQLite recommends it over shared cache).
        Target::Memory(name) => rusqlite::Connection::open_with_flags(
            format!("file:/{name}?vfs=memdb"),
            flags | OpenFlags::SQLITE_OPEN_URI,
        ),
    };
    let conn = opened.map_err(|e| Error::sqlite(database, Operation::Open, e))?;
    // Opening is lazy: read the header now, so a file that is not a database fails here.
    conn.query_row("PRAGMA schema_version", [], |_| Ok(()))
        .map_err(|e| Error::sqlite(database, Operation::Open, e))?;
    Ok(conn)
}

struct Inner {
    builder: Builder,
    database: Arc<str>,
    /// A memory database lives as long as one connection to it is open: this one, outside
    /// the pool, so idle retirement or a resize never deletes it.
    _keeper: Option<Mutex<rusqlite::Connection>>,
}

/// Opens SQLite connections with their settings, for a [`Pool`](tenure::pool::Pool) or
/// directly ([`open`](Manager::open)). Build one with [`Manager::file`] or
/// [`Manager::memory`]; pool it with [`pool_config`](crate::pool_config)'s SQLite defaults.
///
/// In the pool: a connection returned inside a transaction (`!is_autocommit()`) is rolled
/// back on a blocking thread with its slot held before anyone else gets it, and retired if
/// that fails; one dropped while its thread panicked is kept if it is in autocommit (a
/// `rusqlite::Transaction` rolls back while unwinding); a connection is never "broken" on
/// return (a local file has no peer to lose).
///
/// ```
/// use tenure::pool::Pool;
/// let dir = tempfile::tempdir()?;
/// let manager = tenure_sqlite::Manager::file(dir.path().join("app.db")).build()?;
/// let pool = Pool::builder(manager).config(tenure_sqlite::pool_config()).build()?;
/// let conn = pool.get_blocking()?;
/// conn.execute_batch("CREATE TABLE t (x)")?;
/// conn.execute("INSERT INTO t VALUES (?1)", [42])?;
/// drop(conn); // back to the pool
/// let n: i64 = pool.get_blocking()?.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
/// assert_eq!(n, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

impl Manager {
    /// A database in a file (created if missing).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let manager = tenure_sqlite::Manager::file(dir.path().join("app.db")).build()?;
    /// assert!(dir.path().join("app.db").exists());
    /// # drop(manager);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> Builder {
        Builder::new(Target::File(path.into()))
    }

    /// A named in-memory database (SQLite's `memdb` VFS), shared by the manager's
    /// connections and alive as long as the manager (its pool) is. The name is 1 to 200
    /// ASCII letters, digits, `-`, `_` or `.`; two managers of one name in one process
    /// share the database.
    ///
    /// ```
    /// let manager = tenure_sqlite::Manager::memory("doc-memory").build()?;
    /// manager.open()?.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)")?;
    /// let n: i64 = manager.open()?.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
    /// assert_eq!(n, 1); // another connection, the same database
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn memory(name: impl Into<String>) -> Builder {
        Builder::new(Target::Memory(name.into()))
    }

    /// The database: its path as given, or `memory:NAME`.
    ///
    /// ```
    /// let manager = tenure_sqlite::Manager::memory("doc-name").build()?;
    /// assert_eq!(manager.database(), "memory:doc-name");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn database(&self) -> &str {
        &self.inner.database
    }

    /// Opens one connection with every per-connection setting applied (what the pool's
    /// create runs): `busy_timeout`, `foreign_keys`, `synchronous`, the statement cache
    /// capacity, then the init hook. Blocking.
    ///
    /// ```
    /// let manager = tenure_sqlite::Manager::memory("doc-open").build()?;
    /// let conn = manager.open()?;
    /// let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    /// assert!(fk);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn open(&self) -> Result<Connection, Error> {
        let b = &self.inner.builder;
        let database = &self.inner.database;
        b.hooks.check(Hook::Create, database)?;
        let mut conn = open_raw(&b.target, b.read_only, database)?;
        conn.busy_timeout(b.busy_timeout)
            .map_err(|e| Error::sqlite(database, Operation::Pragma("busy_timeout"), e))?;
        conn.pragma_update(None, "foreign_keys", b.foreign_keys)
            .map_err(|e| Error::sqlite(database, pragma_op(&e, "foreign_keys"), e))?;
        if let Some(mode) = b.synchronous {
            conn.pragma_update(None, "synchronous", mode.as_sql())
                .map_err(|e| Error::sqlite(database, pragma_op(&e, "synchronous"), e))?;
        }
        if let Some(capacity) = b.statement_cache_capacity {
            conn.set_prepared_statement_cache_capacity(capacity);
        }
        if let Some(init) = &b.init {
            init(&mut conn).map_err(|e| Error::sqlite(database, Operation::InitHook, e))?;
        }
        Ok(Connection::new(conn, database.clone(), b.hooks.opened()))
    }
}

impl tenure::pool::Manager for Manager {
    type Resource = Connection;
    type Error = Error;
    const ASYNC: bool = false;

    fn create(&self) -> Work<Result<Connection, Error>> {
        let manager = self.clone();
        Work::blocking(move || manager.open())
    }

    fn close(&self, conn: Connection) -> Work<Result<(), BoxError>> {
        Work::blocking(move || conn.close().map_err(BoxError::from))
    }

    /// `SELECT 1` (only when the pool's `Validation` asks; [`pool_config`](crate::pool_config)
    /// never does).
    fn validate(&self, conn: Connection) -> Checked<Self> {
        Work::blocking(move || {
            let database = Connection::database_arc(&conn).clone();
            let checked = conn.hooks.check(Hook::Validate, &database).and_then(|()| {
                conn.query_row("SELECT 1", [], |_| Ok(()))
                    .map_err(|e| Error::sqlite(&database, Operation::Validate, e))
            });
            (conn, checked)
        })
    }

    fn is_broken(&self, _conn: &mut Connection) -> bool {
        false
    }

    fn needs_reset(&self, conn: &Connection) -> bool {
        conn.state() != State::Idle
    }

    fn reset(&self, mut conn: Connection) -> Checked<Self> {
        Work::blocking(move || {
            let reset = conn.roll_back_all();
            (conn, reset)
        })
    }

    fn reuse_after_panic(&self, conn: &Connection) -> bool {
        conn.state() == State::Idle
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("database", &self.inner.database)
            .finish()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("busy_timeout", &self.busy_timeout)
            .field("foreign_keys", &self.foreign_keys)
            .field("wal", &self.wal)
            .field("synchronous", &self.synchronous)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}
