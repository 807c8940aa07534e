//! What a connection records for the pool's return hooks, which see only the resource: the
//! transaction [`State`], a request abandoned before its reply, and whether an error showed
//! the connection dead. tokio-postgres discards the transaction-status byte of
//! `ReadyForQuery`, so this bookkeeping is the only way to know.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use tenure::tx::State;
use tokio_postgres::Statement;

const UNKNOWN: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    state: AtomicU32,
    abandoned: AtomicBool,
    /// Shared with the connection task, which sets it when the connection ends in error.
    pub(crate) dead: Arc<AtomicBool>,
    /// Whether a statement prepared on this connection may begin or end a transaction
    /// (tokio-postgres keeps a statement's name private, so this is per connection: then
    /// every prepared statement's execution counts as one that may).
    prepared_control: AtomicBool,
}

impl Tracker {
    pub(crate) fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Idle,
            UNKNOWN => State::Unknown,
            depth => State::Open { depth },
        }
    }

    pub(crate) fn set_state(&self, state: State) {
        let v = match state {
            State::Idle => 0,
            State::Unknown => UNKNOWN,
            State::Open { depth } => depth.min(UNKNOWN - 1),
        };
        self.state.store(v, Ordering::Release);
    }

    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    pub(crate) fn clear_abandoned(&self) {
        self.abandoned.store(false, Ordering::Release);
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub(crate) fn mark_dead(&self) {
        self.dead.store(true, Ordering::Release);
    }

    /// Called before a statement of the user's is sent: if it may begin or end a
    /// transaction, the state is `Unknown` from now on (until a confirmed `ROLLBACK`).
    pub(crate) fn before_sending(&self, statement: &(impl AsStatement + ?Sized)) {
        let control = match statement.text() {
            Some(text) => may_control_transactions(text),
            None => self.prepared_control.load(Ordering::Acquire),
        };
        if control {
            self.set_state(State::Unknown);
        }
    }

    pub(crate) fn remember_prepared(&self, text: &str) {
        if may_control_transactions(text) {
            self.prepared_control.store(true, Ordering::Release);
        }
    }

    /// A guard for one request: dropped before [`Request::done`], it records the request as
    /// abandoned (its reply will still come, and the server may still be working on it).
    pub(crate) fn request(&self) -> Request<'_> {
        Request {
            tracker: self,
            done: false,
        }
    }
}

pub(crate) struct Request<'a> {
    tracker: &'a Tracker,
    done: bool,
}

impl Request<'_> {
    pub(crate) fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.tracker.abandoned.store(true, Ordering::Release);
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for str {}
    impl Sealed for String {}
    impl Sealed for tokio_postgres::Statement {}
}

/// What the clients' query methods take: SQL text (`&str`, `&String`) or a
/// [`Statement`] prepared on the same connection — tokio-postgres's `ToStatement`, with
/// what the connection needs to see first: whether the statement may begin or end a
/// transaction (its text names `BEGIN`, `START`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`,
/// `SAVEPOINT`, `RELEASE`, `PREPARE` or `CALL`/`DO`, whose procedures may commit; a prepared
/// statement counts when one prepared on the connection may have). Such a statement sets the connection's state to `Unknown`, so it goes back to the pool
/// through a confirmed `ROLLBACK`. A false alarm costs one `ROLLBACK` on return.
///
/// ```
/// use tenure_postgres::AsStatement;
/// fn takes(_: &(impl AsStatement + ?Sized)) {}
/// takes("SELECT 1");
/// takes(&String::from("SELECT 1"));
/// ```
pub trait AsStatement: tokio_postgres::ToStatement + Sync + sealed::Sealed {
    /// The SQL text; `None` for a prepared statement.
    #[doc(hidden)]
    fn text(&self) -> Option<&str>;
}

impl AsStatement for str {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AsStatement for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AsStatement for Statement {
    fn text(&self) -> Option<&str> {
        None
    }
}

/// Whether `sql` holds a word that can begin or end a transaction. Words, not statements:
/// a column named `end_date` does not count, a string literal saying `'commit'` does
/// (harmless: one `ROLLBACK` on return).
pub(crate) fn may_control_transactions(sql: &str) -> bool {
    const WORDS: [&str; 11] = [
        "begin",
        "start",
        "commit",
        "end",
        "rollback",
        "abort",
        "savepoint",
        "release",
        "prepare",
        "call",
        "do",
    ];
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_words_are_found_as_words() {
        for sql in [
            "BEGIN",
            "begin isolation level serializable",
            "START TRANSACTION",
            "insert into t values (1); COMMIT",
            "End",
            "ROLLBACK",
            "abort",
            "SAVEPOINT a",
            "RELEASE a",
            "PREPARE TRANSACTION 'x'",
            "CALL p()",
            "DO $$ BEGIN END $$",
        ] {
            assert!(may_control_transactions(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SELECT end_date, begins FROM t",
            "INSERT INTO committed VALUES (1)",
            "UPDATE t SET doable = true",
        ] {
            assert!(!may_control_transactions(sql), "{sql}");
        }
    }

    #[test]
    fn state_round_trips_and_abandoned_requests_are_seen() {
        let t = Tracker::default();
        for s in [State::Unknown, State::Open { depth: 3 }, State::Idle] {
            t.set_state(s);
            assert_eq!(t.state(), s);
        }
        t.request().done();
        assert!(!t.abandoned());
        drop(t.request());
        assert!(t.abandoned());
        t.before_sending("SELECT 1");
        assert_eq!(t.state(), State::Idle);
        t.before_sending("begin");
        assert_eq!(t.state(), State::Unknown);
    }
}
