//! [`ScriptedManager`]: a pool of scripted connections, with the reset every adapter of
//! `tx` writes.

use crate::error::BoxError;
use crate::pool::{Checked, Manager, Work};
use crate::testing::Faults;
use crate::tx::{Class, Session, State, Transactional};

use super::{ScriptedConnection, ScriptedError, Server};

/// A pool [`Manager`] of [`ScriptedConnection`]s to one [`Server`], written as an adapter
/// of [`tx`](crate::tx) writes its own: `needs_reset` is `state() != Idle`, `reset` rolls
/// back (an answer "no transaction is active" is fine: a `COMMIT` whose reply was lost may
/// have landed) and succeeds only if the connection then reads `Idle`; a lost connection
/// is broken; one returned while its thread panicked is kept only if it is `Idle`.
///
/// ```
/// use tenure::pool::{Pool, PoolConfig};
/// use tenure::testing::tx::{ScriptedManager, Server};
/// use tenure::tx::{Mode, Session, State, Transactional};
///
/// let server = Server::new();
/// let pool = Pool::builder(ScriptedManager::new(&server))
///     .config(PoolConfig { max_size: 1, ..PoolConfig::default() })
///     .build()?;
/// let mut lease = pool.get_blocking()?;
/// lease.begin(Mode::Deferred)?;
/// lease.insert(1)?;
/// drop(lease);                                   // returned inside a transaction
/// let lease = pool.get_blocking()?;              // the reset rolled it back first
/// assert_eq!(lease.state(), State::Idle);
/// assert!(server.rows().is_empty());
/// assert_eq!(server.log(), ["BEGIN", "INSERT 1", "ROLLBACK"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScriptedManager {
    server: Server,
    faults: Faults,
}

impl ScriptedManager {
    /// Connections to `server`, with no faults planned.
    ///
    /// ```
    /// let m = tenure::testing::tx::ScriptedManager::new(&tenure::testing::tx::Server::new());
    /// ```
    pub fn new(server: &Server) -> Self {
        Self::with_faults(server, Faults::new())
    }

    /// Connections to `server` whose replies consult `faults` (shared by all of them).
    ///
    /// ```
    /// use tenure::testing::{Faults, Op};
    /// let faults = Faults::new();
    /// faults.fail_nth(Op::Rollback, "conn", 1); // the first reset loses its connection
    /// let m = tenure::testing::tx::ScriptedManager::with_faults(&tenure::testing::tx::Server::new(), faults);
    /// ```
    pub fn with_faults(server: &Server, faults: Faults) -> Self {
        ScriptedManager {
            server: server.clone(),
            faults,
        }
    }
}

impl Manager for ScriptedManager {
    type Resource = ScriptedConnection;
    type Error = ScriptedError;
    const ASYNC: bool = false;

    fn create(&self) -> Work<Result<ScriptedConnection, ScriptedError>> {
        Work::ready(Ok(self.server.connect_with(self.faults.clone())))
    }

    fn close(&self, conn: ScriptedConnection) -> Work<Result<(), BoxError>> {
        drop(conn); // a disconnect: the server ends its session
        Work::ready(Ok(()))
    }

    fn is_broken(&self, conn: &mut ScriptedConnection) -> bool {
        conn.is_lost()
    }

    fn needs_reset(&self, conn: &ScriptedConnection) -> bool {
        conn.state() != State::Idle
    }

    fn reset(&self, mut conn: ScriptedConnection) -> Checked<Self> {
        Work::blocking(move || {
            let verdict = roll_back_to_idle(&mut conn);
            (conn, verdict)
        })
    }

    fn reuse_after_panic(&self, conn: &ScriptedConnection) -> bool {
        conn.state() == State::Idle
    }
}

/// Rolls back whatever is open; `Ok` only if the connection then reads `Idle`.
fn roll_back_to_idle(conn: &mut ScriptedConnection) -> Result<(), ScriptedError> {
    match Transactional::rollback(conn) {
        Ok(()) => {}
        Err(e) if e.class == Class::NoTransaction => {}
        Err(e) => return Err(e),
    }
    match conn.state() {
        State::Idle => Ok(()),
        other => Err(ScriptedError {
            class: Class::Other,
            statement: "ROLLBACK".into(),
            message: format!("the connection is still {other}"),
            fault: None,
        }),
    }
}
