//! The scripted connection: a [`Server`] that records what reached it, and
//! [`ScriptedConnection`]s to it whose control statements consult [`Faults`] on their reply
//! and can be rejected with a classified error ([`Rejection`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use crate::testing::{lock, Faults, InjectedFault, Op};
use crate::tx::{AsyncTransactional, Class, Mode, Session, State, Transactional};

/// The server the scripted connections talk to: it keeps the committed rows, each
/// connection's open transaction (savepoints as a stack, as SQL has them) and a log of
/// every statement that reached it, in order. Cloning shares it.
///
/// ```
/// use tenure::testing::tx::Server;
/// use tenure::tx::{Mode, Transactional};
///
/// let server = Server::new();
/// let mut conn = server.connect();
/// conn.begin(Mode::Deferred)?;
/// conn.insert(1)?;
/// assert!(server.rows().is_empty());           // not committed yet
/// assert_eq!(server.open_transactions(), 1);
/// conn.commit()?;
/// assert_eq!(server.rows(), [1]);
/// assert_eq!(server.log(), ["BEGIN", "INSERT 1", "COMMIT"]);
/// # Ok::<(), tenure::testing::tx::ScriptedError>(())
/// ```
#[derive(Clone, Default, Debug)]
pub struct Server {
    inner: Arc<Mutex<ServerState>>,
}

#[derive(Default, Debug)]
struct ServerState {
    committed: Vec<i64>,
    log: Vec<String>,
    next_id: u64,
    /// Each connected session's open transaction: its frames, the transaction first, then
    /// one per savepoint (name, rows written in it).
    sessions: HashMap<u64, Option<Vec<Frame>>>,
}

#[derive(Debug)]
struct Frame {
    name: Option<String>,
    rows: Vec<i64>,
}

/// A statement sent to the server.
#[derive(Debug, Clone)]
enum Stmt {
    Begin(Mode),
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    Insert(i64),
}

impl Stmt {
    fn op(&self) -> Op {
        match self {
            Stmt::Begin(_) => Op::Begin,
            Stmt::Commit => Op::Commit,
            Stmt::Rollback => Op::Rollback,
            Stmt::Savepoint(_) => Op::Savepoint,
            Stmt::Release(_) => Op::ReleaseSavepoint,
            Stmt::RollbackTo(_) => Op::RollbackToSavepoint,
            Stmt::Insert(_) => Op::Statement,
        }
    }

    fn sql(&self) -> String {
        match self {
            Stmt::Begin(Mode::Immediate) => "BEGIN IMMEDIATE".into(),
            Stmt::Begin(Mode::ReadOnly) => "BEGIN READ ONLY".into(),
            Stmt::Begin(_) => "BEGIN".into(),
            Stmt::Commit => "COMMIT".into(),
            Stmt::Rollback => "ROLLBACK".into(),
            Stmt::Savepoint(n) => format!("SAVEPOINT {n}"),
            Stmt::Release(n) => format!("RELEASE {n}"),
            Stmt::RollbackTo(n) => format!("ROLLBACK TO {n}"),
            Stmt::Insert(v) => format!("INSERT {v}"),
        }
    }
}

impl Server {
    /// An empty server.
    ///
    /// ```
    /// assert!(tenure::testing::tx::Server::new().rows().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A new connection, with no faults planned.
    ///
    /// ```
    /// use tenure::tx::{Session, State};
    /// assert_eq!(tenure::testing::tx::Server::new().connect().state(), State::Idle);
    /// ```
    pub fn connect(&self) -> ScriptedConnection {
        self.connect_with(Faults::new())
    }

    /// A new connection whose replies consult `faults` (kind `"conn"`): for each control
    /// statement ([`Op::Begin`], [`Op::Commit`], [`Op::Rollback`], [`Op::Savepoint`],
    /// [`Op::ReleaseSavepoint`], [`Op::RollbackToSavepoint`]) and each `insert`
    /// ([`Op::Statement`]), *after* the server applied it: [`Fault::Error`](crate::testing::Fault::Error) loses the reply
    /// and the connection ([`Class::ConnectionLost`], the state stays
    /// [`Unknown`](State::Unknown)); a delay or a hang holds the reply back (async: a future
    /// dropped then leaves `Unknown`, with the statement applied); a panic panics.
    ///
    /// ```
    /// use tenure::testing::{Faults, Op};
    /// use tenure::testing::tx::Server;
    /// use tenure::tx::{transaction, Class, Session, State};
    ///
    /// let server = Server::new();
    /// let faults = Faults::new();
    /// faults.fail_nth(Op::Commit, "conn", 1);          // COMMIT lands, its reply is lost
    /// let mut conn = server.connect_with(faults);
    /// let err = transaction(&mut conn, |tx| tx.insert(1)).unwrap_err();
    /// assert!(err.is_commit_unknown());
    /// assert_eq!(server.rows(), [1]);                 // it did commit
    /// assert_eq!(conn.state(), State::Unknown);       // and the connection cannot know
    /// ```
    pub fn connect_with(&self, faults: Faults) -> ScriptedConnection {
        let id = {
            let mut st = lock(&self.inner);
            st.next_id += 1;
            let id = st.next_id;
            st.sessions.insert(id, None);
            id
        };
        ScriptedConnection {
            server: self.clone(),
            id,
            state: State::Idle,
            faults,
            lost: false,
            rejections: HashMap::new(),
        }
    }

    /// The committed rows, in commit order.
    ///
    /// ```
    /// let server = tenure::testing::tx::Server::new();
    /// server.connect().insert(4)?; // outside a transaction: committed at once
    /// assert_eq!(server.rows(), [4]);
    /// # Ok::<(), tenure::testing::tx::ScriptedError>(())
    /// ```
    pub fn rows(&self) -> Vec<i64> {
        lock(&self.inner).committed.clone()
    }

    /// Every statement that reached the server, in order (all connections).
    ///
    /// ```
    /// use tenure::tx::{Mode, Transactional};
    /// let server = tenure::testing::tx::Server::new();
    /// server.connect().begin(Mode::Immediate)?;
    /// assert_eq!(server.log(), ["BEGIN IMMEDIATE"]);
    /// # Ok::<(), tenure::testing::tx::ScriptedError>(())
    /// ```
    pub fn log(&self) -> Vec<String> {
        lock(&self.inner).log.clone()
    }

    /// How many connected sessions have a transaction open on the server.
    ///
    /// ```
    /// use tenure::tx::{Mode, Transactional};
    /// let server = tenure::testing::tx::Server::new();
    /// let mut conn = server.connect();
    /// conn.begin(Mode::Deferred)?;
    /// assert_eq!(server.open_transactions(), 1);
    /// drop(conn); // a disconnect ends the session, and its transaction with it
    /// assert_eq!(server.open_transactions(), 0);
    /// # Ok::<(), tenure::testing::tx::ScriptedError>(())
    /// ```
    pub fn open_transactions(&self) -> usize {
        lock(&self.inner)
            .sessions
            .values()
            .filter(|s| s.is_some())
            .count()
    }

    /// Applies `stmt` for session `id` (after a rejection, if one was planned), logs it and
    /// returns the session's state afterwards with the server's answer.
    fn execute(
        &self,
        id: u64,
        stmt: &Stmt,
        rejection: Option<Rejection>,
    ) -> (State, Result<(), (Class, String)>) {
        let mut st = lock(&self.inner);
        let ServerState {
            committed,
            log,
            sessions,
            ..
        } = &mut *st;
        log.push(stmt.sql());
        let session = sessions.entry(id).or_insert(None);
        let answer = match rejection {
            Some(r) => {
                if r.ends_transaction {
                    *session = None;
                }
                Err((r.class, r.message()))
            }
            None => apply(session, committed, stmt),
        };
        let state = match session {
            None => State::Idle,
            Some(frames) => State::Open {
                depth: frames.len() as u32,
            },
        };
        (state, answer)
    }
}

/// What the server does with one statement.
fn apply(
    session: &mut Option<Vec<Frame>>,
    committed: &mut Vec<i64>,
    stmt: &Stmt,
) -> Result<(), (Class, String)> {
    let none = || (Class::NoTransaction, "no transaction is active".to_string());
    let position = |frames: &[Frame], name: &str| {
        frames
            .iter()
            .rposition(|f| f.name.as_deref() == Some(name))
            .filter(|&i| i > 0)
            .ok_or((Class::NoTransaction, format!("no such savepoint: {name}")))
    };
    match (stmt, session.as_mut()) {
        (Stmt::Begin(_), Some(_)) => Err((
            Class::Other,
            "cannot start a transaction within a transaction".into(),
        )),
        (Stmt::Begin(_), None) => {
            *session = Some(vec![Frame {
                name: None,
                rows: Vec::new(),
            }]);
            Ok(())
        }
        (Stmt::Insert(v), None) => {
            committed.push(*v);
            Ok(())
        }
        (Stmt::Insert(v), Some(frames)) => {
            frames.last_mut().expect("a frame").rows.push(*v);
            Ok(())
        }
        (_, None) => Err(none()),
        (Stmt::Commit, Some(frames)) => {
            committed.extend(frames.drain(..).flat_map(|f| f.rows));
            *session = None;
            Ok(())
        }
        (Stmt::Rollback, Some(_)) => {
            *session = None;
            Ok(())
        }
        (Stmt::Savepoint(name), Some(frames)) => {
            frames.push(Frame {
                name: Some(name.clone()),
                rows: Vec::new(),
            });
            Ok(())
        }
        (Stmt::Release(name), Some(frames)) => {
            let i = position(frames, name)?;
            let rows: Vec<i64> = frames.drain(i..).flat_map(|f| f.rows).collect();
            frames[i - 1].rows.extend(rows);
            Ok(())
        }
        (Stmt::RollbackTo(name), Some(frames)) => {
            let i = position(frames, name)?;
            frames.truncate(i);
            Ok(())
        }
    }
}

/// A classified error the server answers a statement with instead of running it
/// ([`ScriptedConnection::reject_next`]).
///
/// ```
/// use tenure::tx::Class;
/// let r = tenure::testing::tx::Rejection::new(Class::Busy).ending_transaction();
/// assert_eq!(r.class, Class::Busy);
/// assert!(r.ends_transaction);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// How the connection classifies the error.
    pub class: Class,
    /// Whether the server ends the session's transaction with it (as SQLite does on
    /// `SQLITE_FULL` or an interrupt, and PostgreSQL on a failed `COMMIT`).
    pub ends_transaction: bool,
}

impl Rejection {
    /// A rejection of class `class` that leaves the transaction open.
    ///
    /// ```
    /// let r = tenure::testing::tx::Rejection::new(tenure::tx::Class::Deadlock);
    /// assert!(!r.ends_transaction);
    /// ```
    pub fn new(class: Class) -> Self {
        Rejection {
            class,
            ends_transaction: false,
        }
    }

    /// The same, and the server ends the transaction.
    ///
    /// ```
    /// assert!(tenure::testing::tx::Rejection::new(tenure::tx::Class::Other).ending_transaction().ends_transaction);
    /// ```
    pub fn ending_transaction(self) -> Self {
        Rejection {
            ends_transaction: true,
            ..self
        }
    }

    fn message(&self) -> String {
        match self.class {
            Class::Serialization => "could not serialize access due to concurrent update",
            Class::Deadlock => "deadlock detected",
            Class::Busy => "database is locked",
            Class::BusySnapshot => "database is locked (busy snapshot)",
            Class::ConnectionLost => "connection lost",
            Class::NoTransaction => "no transaction is active",
            _ => "rejected",
        }
        .to_string()
    }
}

/// What a scripted statement failed with: the statement, the server's (or the lost
/// connection's) message, and its [`Class`].
///
/// ```
/// use tenure::testing::tx::Server;
/// use tenure::tx::{Class, Transactional};
/// let err = Server::new().connect().commit().unwrap_err();
/// assert_eq!(err.class, Class::NoTransaction);
/// assert_eq!(err.to_string(), "`COMMIT` failed: no transaction is active");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{statement}` failed: {message}")]
pub struct ScriptedError {
    /// How the connection classifies it.
    pub class: Class,
    /// The statement that failed.
    pub statement: String,
    /// What the server (or the lost connection) said.
    pub message: String,
    /// The injected fault that lost the connection, if one did.
    #[source]
    pub fault: Option<InjectedFault>,
}

/// A connection to a [`Server`], implementing [`Transactional`] and
/// [`AsyncTransactional`] with the `Unknown`-before-send discipline: each statement sets
/// [`State::Unknown`], reaches the server (async: after one pending poll, the request's
/// trip), then its reply comes back (async: after another, plus any delay or hang `Faults`
/// plan), and the state becomes the server's view of the session. Dropping it disconnects
/// (the server ends its open transaction).
///
/// ```
/// use tenure::testing::tx::Server;
/// use tenure::tx::{transaction, Session, State};
/// let server = Server::new();
/// let mut conn = server.connect();
/// transaction(&mut conn, |tx| tx.insert(1))?;
/// assert_eq!((conn.state(), server.rows()), (State::Idle, vec![1]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ScriptedConnection {
    server: Server,
    id: u64,
    state: State,
    faults: Faults,
    lost: bool,
    rejections: HashMap<Op, VecDeque<Rejection>>,
}

impl ScriptedConnection {
    /// Plans the server's answer to the next statement of kind `op` (queued: several calls
    /// plan several): `rejection` instead of running it.
    ///
    /// ```
    /// use tenure::testing::{tx::{Rejection, Server}, Op};
    /// use tenure::tx::Class;
    /// let mut conn = Server::new().connect();
    /// conn.reject_next(Op::Statement, Rejection::new(Class::BusySnapshot));
    /// assert_eq!(conn.insert(1).unwrap_err().class, Class::BusySnapshot);
    /// assert!(conn.insert(2).is_ok());
    /// ```
    pub fn reject_next(&mut self, op: Op, rejection: Rejection) -> &mut Self {
        self.rejections.entry(op).or_default().push_back(rejection);
        self
    }

    /// Writes row `value` (inside the open transaction, or committed at once outside one).
    ///
    /// ```
    /// let server = tenure::testing::tx::Server::new();
    /// server.connect().insert(9)?;
    /// assert_eq!(server.rows(), [9]);
    /// # Ok::<(), tenure::testing::tx::ScriptedError>(())
    /// ```
    pub fn insert(&mut self, value: i64) -> Result<(), ScriptedError> {
        self.send(Stmt::Insert(value))
    }

    /// [`insert`](Self::insert), async (two pending polls: the request, the reply).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::testing::tx::ScriptedError> {
    /// let server = tenure::testing::tx::Server::new();
    /// server.connect().insert_async(9).await?;
    /// assert_eq!(server.rows(), [9]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert_async(
        &mut self,
        value: i64,
    ) -> impl Future<Output = Result<(), ScriptedError>> + Send + '_ {
        self.send_async(Stmt::Insert(value))
    }

    /// The faults its replies consult (to plan more after connecting).
    ///
    /// ```
    /// use tenure::testing::Op;
    /// let conn = tenure::testing::tx::Server::new().connect();
    /// conn.faults().fail_nth(Op::Commit, "conn", 1);
    /// assert_eq!(conn.faults().count(Op::Commit, "conn"), 0);
    /// ```
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Whether the connection was lost (an injected [`Fault::Error`](crate::testing::Fault::Error) on a reply): every
    /// statement fails with [`Class::ConnectionLost`] from then on.
    ///
    /// ```
    /// assert!(!tenure::testing::tx::Server::new().connect().is_lost());
    /// ```
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// The error of a statement on a lost connection.
    fn lost_error(&self, stmt: &Stmt, fault: Option<InjectedFault>) -> ScriptedError {
        ScriptedError {
            class: Class::ConnectionLost,
            statement: stmt.sql(),
            message: "connection lost".into(),
            fault,
        }
    }

    /// The request: `Unknown`, then the server applies `stmt` (or a planned rejection).
    fn request(
        &mut self,
        stmt: &Stmt,
    ) -> Result<(State, Result<(), ScriptedError>), ScriptedError> {
        if self.lost {
            return Err(self.lost_error(stmt, None));
        }
        let rejection = self
            .rejections
            .get_mut(&stmt.op())
            .and_then(VecDeque::pop_front);
        let (state, answer) = self.server.execute(self.id, stmt, rejection);
        let answer = answer.map_err(|(class, message)| ScriptedError {
            class,
            statement: stmt.sql(),
            message,
            fault: None,
        });
        Ok((state, answer))
    }

    /// The reply, as `Faults` let it through: lost (the connection with it), or the
    /// server's answer and the session's state.
    fn reply(
        &mut self,
        stmt: &Stmt,
        fault: Result<(), InjectedFault>,
        server: (State, Result<(), ScriptedError>),
    ) -> Result<(), ScriptedError> {
        match fault {
            Err(injected) => {
                self.lost = true;
                Err(self.lost_error(stmt, Some(injected)))
            }
            Ok(()) => {
                self.state = server.0;
                server.1
            }
        }
    }

    fn send(&mut self, stmt: Stmt) -> Result<(), ScriptedError> {
        self.state = State::Unknown;
        let server = self.request(&stmt)?;
        let fault = self.faults.check(stmt.op(), KIND);
        self.reply(&stmt, fault, server)
    }

    async fn send_async(&mut self, stmt: Stmt) -> Result<(), ScriptedError> {
        self.state = State::Unknown;
        pending_once().await; // the request's trip
        let server = self.request(&stmt)?;
        pending_once().await; // the reply's trip
        let fault = self.faults.check_async(stmt.op(), KIND).await;
        self.reply(&stmt, fault, server)
    }
}

/// The `Faults` kind of every scripted connection.
const KIND: &str = "conn";

/// Pending once (waking itself), then ready: one trip over the "network".
async fn pending_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

impl Drop for ScriptedConnection {
    fn drop(&mut self) {
        lock(&self.server.inner).sessions.remove(&self.id);
    }
}

impl Session for ScriptedConnection {
    type Error = ScriptedError;

    fn state(&self) -> State {
        self.state
    }

    fn classify(&self, error: &ScriptedError) -> Class {
        error.class
    }
}

impl Transactional for ScriptedConnection {
    fn begin(&mut self, mode: Mode) -> Result<(), ScriptedError> {
        self.send(Stmt::Begin(mode))
    }

    fn commit(&mut self) -> Result<(), ScriptedError> {
        self.send(Stmt::Commit)
    }

    fn rollback(&mut self) -> Result<(), ScriptedError> {
        self.send(Stmt::Rollback)
    }

    fn savepoint(&mut self, name: &str) -> Result<(), ScriptedError> {
        self.send(Stmt::Savepoint(name.into()))
    }

    fn release_savepoint(&mut self, name: &str) -> Result<(), ScriptedError> {
        self.send(Stmt::Release(name.into()))
    }

    fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), ScriptedError> {
        self.send(Stmt::RollbackTo(name.into()))
    }
}

impl AsyncTransactional for ScriptedConnection {
    fn begin(&mut self, mode: Mode) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::Begin(mode))
    }

    fn commit(&mut self) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::Commit)
    }

    fn rollback(&mut self) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::Rollback)
    }

    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::Savepoint(name.into()))
    }

    fn release_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::Release(name.into()))
    }

    fn rollback_to_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), ScriptedError>> + Send {
        self.send_async(Stmt::RollbackTo(name.into()))
    }
}
