//! `tenure::tx` for both clients: the six control statements, each setting the state to
//! `Unknown` before it is sent and to the definitive state once the reply is in.

use std::future::Future;

use tenure::tx::{AsyncTransactional, Class, Mode, Session, State, Transactional};

use crate::error::{class_of, classify, is_dead, Error, Operation};
use crate::{BlockingClient, Client};

fn begin_sql(mode: Mode) -> &'static str {
    match mode {
        Mode::ReadOnly => "BEGIN READ ONLY",
        // PostgreSQL has no `BEGIN IMMEDIATE`: its writers lock rows, not the database.
        _ => "BEGIN",
    }
}

/// A savepoint name as a quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn depth(state: State) -> u32 {
    match state {
        State::Open { depth } => depth,
        _ => 0,
    }
}

/// The depth after popping one savepoint (a transaction's own level stays).
fn popped(state: State) -> State {
    State::Open {
        depth: depth(state).saturating_sub(1).max(1),
    }
}

/// [`Session::classify_source`] for both clients: tokio-postgres's error (which
/// `postgres::Error` is), found in a body's error chain, classified as this crate's
/// [`Error`] wrapping it is — by its SQLSTATE (`40001` a serialization failure, `40P01` a
/// deadlock: both retried), or lost when its connection is gone.
fn classify_driver(error: &(dyn std::error::Error + 'static)) -> Option<Class> {
    let e = error.downcast_ref::<tokio_postgres::Error>()?;
    Some(if is_dead(e) {
        Class::ConnectionLost
    } else {
        e.code().map_or(Class::Other, class_of)
    })
}

impl Session for Client {
    type Error = Error;

    fn state(&self) -> State {
        self.c.track.state()
    }

    fn classify(&self, error: &Error) -> Class {
        classify(error)
    }

    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        classify_driver(error)
    }
}

impl Session for BlockingClient {
    type Error = Error;

    fn state(&self) -> State {
        self.c.track.state()
    }

    fn classify(&self, error: &Error) -> Class {
        classify(error)
    }

    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        classify_driver(error)
    }
}

/// A `COMMIT` whose reply never came (the future dropped, the connection lost) leaves the
/// state `Unknown`, and the error classifies as
/// [`Class::ConnectionLost`]: `tenure::tx` reports the commit's outcome as unknown and never
/// retries it.
impl AsyncTransactional for Client {
    fn begin(&mut self, mode: Mode) -> impl Future<Output = Result<(), Error>> + Send {
        self.control(Operation::Begin, begin_sql(mode), State::Open { depth: 1 })
    }

    fn commit(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.control(Operation::Commit, "COMMIT", State::Idle)
    }

    fn rollback(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.control(Operation::Rollback, "ROLLBACK", State::Idle)
    }

    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), Error>> + Send {
        let sql = format!("SAVEPOINT {}", ident(name));
        let then = State::Open {
            depth: depth(self.c.track.state()) + 1,
        };
        async move { self.control(Operation::Savepoint, &sql, then).await }
    }

    fn release_savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), Error>> + Send {
        let sql = format!("RELEASE SAVEPOINT {}", ident(name));
        let then = popped(self.c.track.state());
        async move { self.control(Operation::ReleaseSavepoint, &sql, then).await }
    }

    fn rollback_to_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let name = ident(name);
        let sql = format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}");
        let then = popped(self.c.track.state());
        async move {
            self.control(Operation::RollbackToSavepoint, &sql, then)
                .await
        }
    }
}

impl Transactional for BlockingClient {
    fn begin(&mut self, mode: Mode) -> Result<(), Error> {
        self.control(Operation::Begin, begin_sql(mode), State::Open { depth: 1 })
    }

    fn commit(&mut self) -> Result<(), Error> {
        self.control(Operation::Commit, "COMMIT", State::Idle)
    }

    fn rollback(&mut self) -> Result<(), Error> {
        self.control(Operation::Rollback, "ROLLBACK", State::Idle)
    }

    fn savepoint(&mut self, name: &str) -> Result<(), Error> {
        let then = State::Open {
            depth: depth(self.c.track.state()) + 1,
        };
        self.control(
            Operation::Savepoint,
            &format!("SAVEPOINT {}", ident(name)),
            then,
        )
    }

    fn release_savepoint(&mut self, name: &str) -> Result<(), Error> {
        let then = popped(self.c.track.state());
        self.control(
            Operation::ReleaseSavepoint,
            &format!("RELEASE SAVEPOINT {}", ident(name)),
            then,
        )
    }

    fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), Error> {
        let name = ident(name);
        let then = popped(self.c.track.state());
        self.control(
            Operation::RollbackToSavepoint,
            &format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            then,
        )
    }
}
