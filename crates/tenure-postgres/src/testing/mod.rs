//! A throwaway PostgreSQL for tests (feature `testing`): one cluster per test binary, a
//! database per test.
//!
//! [`database`] gives each test a fresh database on a cluster made once per test binary
//! ([`Cluster`]: `initdb` in a temp dir, a Unix socket beside it, a free loopback port,
//! trust authentication plus one password-protected role), or, when `TENURE_PG_URL` is set,
//! on that existing server. When neither is possible it prints why and returns `None`, so
//! the test returns early; with `TENURE_REQUIRE_PG=1` (set by CI) it panics instead.
//!
//! The shared cluster lives in a `static`, which Rust never drops: a watcher process stops
//! the server and removes its directory when the test process ends, however it ends.
//!
//! ```no_run
//! #[test]
//! fn reads_back_what_it_wrote() {
//!     let Some(db) = tenure_postgres::testing::database() else { return };
//!     let mut client = postgres::Config::from(db.config()).connect(postgres::NoTls).unwrap();
//!     client.batch_execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)").unwrap();
//!     let row = client.query_one("SELECT x FROM t", &[]).unwrap();
//!     assert_eq!(row.get::<_, i32>(0), 1);
//! }
//! ```

mod cluster;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub use cluster::{find_bindir, Cluster, PASSWORD_ROLE};

/// Why the fixture could not give a server.
///
/// ```
/// let e = tenure_postgres::testing::FixtureError::NoInitdb;
/// assert!(e.to_string().contains("TENURE_PG_BINDIR"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// No `initdb` in `TENURE_PG_BINDIR`, on `PATH` or under `/usr/lib/postgresql`.
    #[error("no initdb found (looked in TENURE_PG_BINDIR, PATH and /usr/lib/postgresql/*/bin); install postgresql or set TENURE_PG_URL")]
    NoInitdb,
    /// A file or process operation failed.
    #[error("{what} failed")]
    Io {
        /// What the fixture was doing.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// One of the server's programs failed.
    #[error("{what} exited with {status}: {output}")]
    Command {
        /// Which program.
        what: &'static str,
        /// Its exit status.
        status: String,
        /// What it printed (and the end of the server's log).
        output: String,
    },
    /// `TENURE_PG_URL` is not a connection string.
    #[error("TENURE_PG_URL is not a valid connection string")]
    Url(#[source] tokio_postgres::Error),
    /// An administrative statement (creating the password role or a database) failed.
    #[error("setting up the test server failed")]
    Admin(#[source] postgres::Error),
}

impl FixtureError {
    fn io(what: &'static str, source: std::io::Error) -> Self {
        FixtureError::Io { what, source }
    }
}

/// A database of its own for one test, on the shared cluster or on `TENURE_PG_URL`'s
/// server. On an existing server it is dropped (`WITH (FORCE)`) when this value is; on the
/// cluster it goes with the cluster.
///
/// ```no_run
/// let Some(db) = tenure_postgres::testing::database() else { return };
/// assert!(db.name().starts_with("tenure_"));
/// ```
pub struct TestDatabase {
    name: String,
    server: &'static Server,
}

impl TestDatabase {
    /// The database's name.
    ///
    /// ```no_run
    /// # let Some(db) = tenure_postgres::testing::database() else { return };
    /// assert_eq!(db.config().get_dbname(), Some(db.name()));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection configuration for this database that needs no password.
    ///
    /// ```no_run
    /// # let Some(db) = tenure_postgres::testing::database() else { return };
    /// let config: tokio_postgres::Config = db.config();
    /// # drop(config);
    /// ```
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = self.server.config();
        config.dbname(&self.name);
        config
    }

    /// A configuration for this database as the password-protected role
    /// ([`PASSWORD_ROLE`]) with its password, and that password — `None` on an existing
    /// server (`TENURE_PG_URL`), where the fixture made no such role.
    ///
    /// ```no_run
    /// # let Some(db) = tenure_postgres::testing::database() else { return };
    /// if let Some((config, password)) = db.password_config() {
    ///     assert_eq!(config.get_password(), Some(password.as_bytes()));
    /// }
    /// ```
    pub fn password_config(&self) -> Option<(tokio_postgres::Config, &str)> {
        let Server::Cluster(cluster) = self.server else {
            return None;
        };
        let mut config = self.config();
        config.user(PASSWORD_ROLE).password(cluster.password());
        Some((config, cluster.password()))
    }

    /// The cluster behind this database, when the fixture made it (not on `TENURE_PG_URL`).
    ///
    /// ```no_run
    /// # let Some(db) = tenure_postgres::testing::database() else { return };
    /// if let Some(cluster) = db.cluster() {
    ///     println!("{}", cluster.dir().display());
    /// }
    /// ```
    pub fn cluster(&self) -> Option<&'static Cluster> {
        match self.server {
            Server::Cluster(cluster) => Some(cluster),
            Server::External(_) => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Server::External(config) = self.server {
            let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            if let Err(e) = admin(config, &statement) {
                tracing::warn!(database = %self.name, error = %e, "dropping a test database failed");
            }
        }
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A fresh database for this test, or `None` after printing why there is no server (a
/// panic instead when `TENURE_REQUIRE_PG=1`). The first call in a test binary starts the
/// shared cluster (or reads `TENURE_PG_URL`).
///
/// ```no_run
/// let Some(db) = tenure_postgres::testing::database() else { return };
/// println!("testing on {}", db.name());
/// ```
pub fn database() -> Option<TestDatabase> {
    let server = match shared() {
        Ok(server) => server,
        Err(reason) => {
            skip(reason);
            return None;
        }
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "tenure_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // CREATE DATABASE fails while another session is connected to its template (an
    // autovacuum worker on an existing server, say): try a few times.
    let create = format!("CREATE DATABASE {name}");
    let mut created = admin(&server.config(), &create);
    for _ in 0..3 {
        if created.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        created = admin(&server.config(), &create);
    }
    if let Err(e) = created {
        panic!("creating test database {name} failed: {}", report(&e));
    }
    Some(TestDatabase { name, server })
}

/// A cluster of the test's own (for a test that stops the server), or `None` after
/// printing why not (a panic when `TENURE_REQUIRE_PG=1`). Needs `initdb` even when
/// `TENURE_PG_URL` is set.
///
/// ```no_run
/// let Some(cluster) = tenure_postgres::testing::own_cluster() else { return };
/// cluster.stop().unwrap();
/// ```
pub fn own_cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(cluster) => Some(cluster),
        Err(e) => {
            skip(&report(&e));
            None
        }
    }
}

/// Whether `TENURE_REQUIRE_PG=1`: a missing server fails the test instead of skipping it.
///
/// ```
/// std::env::remove_var("TENURE_REQUIRE_PG");
/// assert!(!tenure_postgres::testing::required());
/// ```
pub fn required() -> bool {
    std::env::var("TENURE_REQUIRE_PG").is_ok_and(|v| v == "1")
}

enum Server {
    Cluster(Cluster),
    External(tokio_postgres::Config),
}

impl Server {
    fn config(&self) -> tokio_postgres::Config {
        match self {
            Server::Cluster(cluster) => cluster.config("postgres"),
            Server::External(config) => config.clone(),
        }
    }
}

fn shared() -> Result<&'static Server, &'static str> {
    static SHARED: OnceLock<Result<Server, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            if let Ok(url) = std::env::var("TENURE_PG_URL") {
                return url
                    .parse()
                    .map(Server::External)
                    .map_err(|e| report(&FixtureError::Url(e)));
            }
            Cluster::start()
                .map(Server::Cluster)
                .map_err(|e| report(&e))
        })
        .as_ref()
        .map_err(String::as_str)
}

fn skip(reason: &str) {
    if required() {
        panic!("PostgreSQL is required here (TENURE_REQUIRE_PG=1), but {reason}");
    }
    // Straight to stderr: the test harness captures `eprintln!`, and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no PostgreSQL server: {reason} (set TENURE_PG_URL, or install postgresql)"
    );
}

/// An error with its causes, one per line.
fn report(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

fn admin(config: &tokio_postgres::Config, statement: &str) -> Result<(), FixtureError> {
    let config = postgres::Config::from(config.clone());
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut client = config.connect(postgres::NoTls)?;
            client.batch_execute(statement)?;
            client.close()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
    .map_err(FixtureError::Admin)
}
