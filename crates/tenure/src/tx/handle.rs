//! [`Tx`]: the handle a transaction's body works through; a transaction itself, so that a
//! transaction run on it is nested (a savepoint).

use std::future::Future;
use std::ops::{Deref, DerefMut};

use super::{AsyncTransactional, Class, Mode, Session, State, Transactional};

/// The handle a transaction's body receives: it derefs to the connection, so the body runs
/// its statements as usual, and it is itself [`Transactional`] (and
/// [`AsyncTransactional`]) — with `begin`, `commit` and `rollback` mapped to a savepoint's
/// create, release and rollback-to — so a transaction run on it is a nested one.
///
/// Nesting is decided by this type, never by reading [`state`](Session::state): a
/// connection left open by a transaction that was cancelled is not a `Tx`, and a top-level
/// transaction refuses it ([`Failure::NotReady`](super::Failure::NotReady)).
///
/// Its own operations are associated functions ([`Tx::attempt`]), so they never shadow the
/// connection's methods.
///
/// ```
/// use tenure::testing::tx::Server;
/// use tenure::tx::{transaction, transaction_dyn, Tx};
///
/// let server = Server::new();
/// let mut conn = server.connect();
/// transaction(&mut conn, |tx| {
///     tx.insert(1)?;                                   // the connection's own method
///     assert_eq!(Tx::attempt(tx), 1);
///     let inner = transaction_dyn(tx, |inner| {        // a savepoint
///         inner.insert(2)?;
///         Err::<(), tenure::error::BoxError>("changed my mind".into())
///     });
///     assert!(inner.is_err());                         // rolled back to the savepoint...
///     tx.insert(3)                                     // ...and the outer goes on
/// })?;
/// assert_eq!(server.rows(), [1, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
/// Its [`Transactional`] `commit` and `rollback` (and the async ones) panic when no
/// savepoint was begun through it: the handle's own transaction ends when the body
/// returns, never through these.
pub struct Tx<'c, C> {
    conn: &'c mut C,
    attempt: u32,
    /// The state right after this transaction began.
    opened: State,
    /// Savepoints begun through this handle (nested transactions), innermost last.
    children: Vec<String>,
}

impl<'c, C: Session> Tx<'c, C> {
    /// A handle on `conn`, just after its transaction began.
    pub(crate) fn new(conn: &'c mut C, attempt: u32) -> Self {
        let opened = conn.state();
        Tx {
            conn,
            attempt,
            opened,
            children: Vec::new(),
        }
    }

    /// The connection back, with the state this transaction began in.
    pub(crate) fn into_parts(self) -> (&'c mut C, State) {
        (self.conn, self.opened)
    }
}

impl<C> Tx<'_, C> {
    /// Which attempt this is, from 1 ([`Retry`](super::Retry) runs the body again on a
    /// retryable failure).
    ///
    /// ```
    /// use tenure::testing::tx::Server;
    /// use tenure::tx::{transaction, Tx};
    /// let mut conn = Server::new().connect();
    /// let n = transaction(&mut conn, |tx| Ok::<_, std::io::Error>(Tx::attempt(tx)))?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempt(tx: &Self) -> u32 {
        tx.attempt
    }

    /// The name of the next savepoint begun through this handle: `tenure_sp_N`, N the
    /// number of savepoints it makes open.
    fn child_name(&self) -> String {
        let depth = match self.opened {
            State::Open { depth } => depth,
            State::Idle | State::Unknown => 1,
        };
        format!("tenure_sp_{}", depth as usize + self.children.len())
    }

    fn innermost(&self) -> String {
        self.children
            .last()
            .cloned()
            .expect("Tx: commit or rollback without a savepoint begun through this handle (a transaction's handle ends when its body returns)")
    }
}

impl<C> Deref for Tx<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn
    }
}

impl<C> DerefMut for Tx<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
    }
}

impl<C: Session> Session for Tx<'_, C> {
    type Error = C::Error;

    fn state(&self) -> State {
        self.conn.state()
    }

    fn classify(&self, error: &C::Error) -> Class {
        self.conn.classify(error)
    }

    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        self.conn.classify_source(error)
    }

    /// A savepoint begins inside this transaction, from the state it is in: opened, plus
    /// the savepoints begun through it and still open.
    fn begins_from(&self) -> State {
        match self.opened {
            State::Open { depth } => State::Open {
                depth: depth + self.children.len() as u32,
            },
            other => other,
        }
    }
}

/// Nested transactions as savepoints; savepoint operations pass through to the connection.
impl<C: Transactional> Transactional for Tx<'_, C> {
    /// Creates a savepoint (`mode` does not apply to one).
    fn begin(&mut self, _mode: Mode) -> Result<(), C::Error> {
        let name = self.child_name();
        self.conn.savepoint(&name)?;
        self.children.push(name);
        Ok(())
    }

    /// Releases the innermost savepoint begun through this handle.
    fn commit(&mut self) -> Result<(), C::Error> {
        let name = self.innermost();
        self.conn.release_savepoint(&name)?;
        self.children.pop();
        Ok(())
    }

    /// Rolls back to the innermost savepoint begun through this handle, and forgets it
    /// (also when that fails: the nested transaction is over either way).
    fn rollback(&mut self) -> Result<(), C::Error> {
        let name = self.innermost();
        self.children.pop();
        self.conn.rollback_to_savepoint(&name)
    }

    fn savepoint(&mut self, name: &str) -> Result<(), C::Error> {
        self.conn.savepoint(name)
    }

    fn release_savepoint(&mut self, name: &str) -> Result<(), C::Error> {
        self.conn.release_savepoint(name)
    }

    fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), C::Error> {
        self.conn.rollback_to_savepoint(name)
    }
}

/// The same as the blocking impl, async.
impl<C: AsyncTransactional> AsyncTransactional for Tx<'_, C> {
    fn begin(&mut self, _mode: Mode) -> impl Future<Output = Result<(), C::Error>> + Send {
        let name = self.child_name();
        async move {
            self.conn.savepoint(&name).await?;
            self.children.push(name);
            Ok(())
        }
    }

    fn commit(&mut self) -> impl Future<Output = Result<(), C::Error>> + Send {
        let name = self.innermost();
        async move {
            self.conn.release_savepoint(&name).await?;
            self.children.pop();
            Ok(())
        }
    }

    fn rollback(&mut self) -> impl Future<Output = Result<(), C::Error>> + Send {
        let name = self.innermost();
        self.children.pop();
        async move { self.conn.rollback_to_savepoint(&name).await }
    }

    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), C::Error>> + Send {
        self.conn.savepoint(name)
    }

    fn release_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), C::Error>> + Send {
        self.conn.release_savepoint(name)
    }

    fn rollback_to_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), C::Error>> + Send {
        self.conn.rollback_to_savepoint(name)
    }
}
