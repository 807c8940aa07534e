//! The state one `close` threads through the entries it runs, and the driver that runs
//! them: what survives a dropped `close` future and how its result is made.

use std::any::Any;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::error::Error as StdError;
use std::panic::{self, AssertUnwindSafe};
use std::task::{Context, Poll};

use super::entry::{pushed_at, Entry, EntryFuture, Started};
use crate::error::Error;
use crate::exit_rules::{Ended, Name, Unwinding};
use crate::orphan::{Job, Orphaning};
use crate::outcome::{Exit, Outcome};
use crate::sink::DropReport;

/// What ended the scope, in a form that can be held across `.await` in a `Send` future.
pub(super) enum Body<'o> {
    Success,
    Error(&'o (dyn StdError + Send + Sync + 'static)),
    Panic(Box<dyn Any + Send>),
}

impl Ended for Body<'_> {
    fn outcome(&self) -> Outcome<'_> {
        match self {
            Body::Success => Outcome::Success,
            Body::Error(e) => Outcome::Error(*e),
            Body::Panic(p) => Outcome::Panic(&**p),
        }
    }
}

/// An unwinding being driven by a future. If that future is dropped before the unwinding
/// finished (a `close`, or a scope in its cleanup, was cancelled), the rest of the entries
/// are orphaned by [`Pending`], but what this one had already collected has nowhere to be
/// returned: it is logged here, not lost.
pub(super) struct InProgress<B: Ended> {
    pub(super) state: Option<Unwinding<B>>,
    pub(super) context: &'static str,
    /// Whether the body's outcome exists only here (a scope's body), so that its error is
    /// lost with this future; `close_with`'s caller still holds its own.
    pub(super) owns_body: bool,
    /// Where the reports go (the stack's orphan tracker).
    pub(super) to: Orphaning,
}

impl<B: Ended> Drop for InProgress<B> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.report_cancelled(self.context, self.owns_body, &self.to);
        }
    }
}

impl<B: Ended> Unwinding<B> {
    /// Reports what an unwinding cancelled half-way had collected: the body's panic (or, if
    /// it owns it, its error), a cleanup panic that would have resumed, and every cleanup
    /// error so far.
    fn report_cancelled(self, context: &'static str, owns_body: bool, to: &Orphaning) {
        let body = self.body.outcome();
        if body.is_panic() {
            let msg = body.panic_message().unwrap_or("<non-string panic payload>");
            let message = format!("the scope body panicked: {msg}");
            to.report(DropReport::PanicLost { context, message });
        } else if let (true, true, Outcome::Error(e)) = (owns_body, self.body_error_active, body) {
            let message = crate::error::chain(e).to_string();
            to.report(DropReport::BodyErrorLost { context, message });
        }
        if let Some(p) = &self.panic {
            let msg = crate::error::panic_message(&**p).unwrap_or("<non-string panic payload>");
            let message = format!("a cleanup panicked: {msg}");
            to.report(DropReport::PanicLost { context, message });
        }
        if let Some(error) = Error::from_errors(self.errors) {
            to.report(DropReport::Cleanup { context, error });
        }
    }
}

/// Entries a `close` has taken but not finished. If the `close` future is dropped, they are
/// orphaned from here, the one in flight first: each still runs exactly once.
pub(super) struct Pending {
    pub(super) entries: Vec<Entry>,
    pub(super) current: Option<(Name, EntryFuture)>,
    pub(super) to: Orphaning,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.current.is_none() && self.entries.is_empty() {
            return;
        }
        let panicking = std::thread::panicking();
        let mut jobs = VecDeque::with_capacity(self.entries.len() + 1);
        if let Some((name, fut)) = self.current.take() {
            jobs.push_back(Job::new(
                name.into_cow(),
                Box::pin(async move { fut.await.map(drop) }),
            ));
        }
        jobs.extend(
            self.entries
                .drain(..)
                .rev()
                .filter_map(|e| e.into_job(panicking)),
        );
        self.to.adopt(jobs, "AsyncExitStack::close (cancelled)");
    }
}

impl Pending {
    /// Runs entries until all ran or one is pending. One `catch_unwind` per panic, not per
    /// entry: after a panic the loop resumes with the next entry (the one that panicked was
    /// taken out before it ran, so it never runs twice).
    pub(super) fn drive<B: Ended>(
        &mut self,
        state: &mut Unwinding<B>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        loop {
            match panic::catch_unwind(AssertUnwindSafe(|| self.run(state, cx))) {
                Ok(poll) => return poll,
                Err(payload) => {
                    let name = match self.current.take() {
                        Some((name, _)) => name.into_cow(),
                        None => Cow::Borrowed("AsyncExitStack entry"),
                    };
                    state.record_panic(name, payload);
                }
            }
        }
    }

    #[inline]
    fn run<B: Ended>(&mut self, state: &mut Unwinding<B>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some((_, fut)) = &mut self.current {
                let Poll::Ready(result) = fut.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                self.current = None;
                state.record(result);
            }
            match self.entries.pop() {
                None => return Poll::Ready(()),
                Some(Entry::Callback(mut fut)) => {
                    if fut.as_mut().poll(cx).is_pending() {
                        let at = fut.at();
                        let fut: EntryFuture = Box::pin(async move {
                            fut.await;
                            Ok(Exit::Propagate)
                        });
                        self.current = Some((pushed_at(at), fut));
                        return Poll::Pending;
                    }
                }
                Some(Entry::Future(mut fut)) => match fut.as_mut().poll(cx) {
                    // Most callbacks finish on their first poll: skip the slot.
                    Poll::Ready(result) => state.record(result),
                    Poll::Pending => {
                        let at = fut.at();
                        self.current = Some((pushed_at(at), fut));
                        return Poll::Pending;
                    }
                },
                Some(Entry::Rule(rule)) => state.apply_rule(&rule),
                Some(Entry::Dyn(entry)) => match entry.start(&state.outcome()) {
                    Started::Done(result) => state.record(result),
                    Started::Running(name, fut) => self.current = Some((name, fut)),
                    Started::Panicked(name, payload) => {
                        state.record_panic(name.into_cow(), payload)
                    }
                },
            }
        }
    }
}
