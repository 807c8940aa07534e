//! Where reports go that nothing can return: errors raised in `Drop`, in orphaned cleanup,
//! or displaced by a panic.
//!
//! A `Closing` dropped with a failing close, an `ExitStack` dropped without `close`, a
//! scope that resumes a panic, an orphaned async cleanup that fails or misses its deadline:
//! none of them has a caller to return an error to. Each makes a [`DropReport`] — an owned,
//! `Send + 'static` value — and hands it to a [`Sink`]: the one its owner carries
//! ([`ExitStack::with_sink`](crate::ExitStack::with_sink),
//! [`Closing::with_sink`](crate::close::Closing::with_sink),
//! [`Orphans::with_sink`](crate::orphan::Orphans::with_sink), which async stacks, scopes and
//! guards report through), else the process-wide default ([`set_default`]), which is
//! [`TracingSink`] — a `tracing` warning that names the resource, as before.
//!
//! A [`CollectingSink`] keeps reports as values, so a test can assert them without a
//! process-global `tracing` subscriber (whose per-callsite cache misses events when other
//! tests run on other threads). A sink that panics is caught and the report is logged
//! through `tracing` instead: a panic inside `Drop` while the thread unwinds would abort
//! the process.
//!
//! ```
//! use std::sync::Arc;
//! use tenure::close::close_with;
//! use tenure::sink::{CollectingSink, DropReport};
//! use tenure::ExitStack;
//!
//! let sink = Arc::new(CollectingSink::new(16));
//! {
//!     let mut stack = ExitStack::new().with_sink(sink.clone());
//!     stack.named("out.csv").enter(close_with((), |()| Err(std::io::Error::other("disk full"))));
//! } // dropped without close: the error has nowhere to go but the sink
//! let reports = sink.take();
//! assert!(matches!(&reports[..], [DropReport::Cleanup { error, .. }] if error.resource() == "out.csv"));
//! ```

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use crate::error::Error;

/// Something tenure had to report where nothing could return it.
///
/// ```
/// use tenure::sink::DropReport;
/// let r = DropReport::Cleanup { context: "Closing::drop", error: tenure::Error::closed("conn") };
/// assert_eq!(r.context(), "Closing::drop");
/// assert_eq!(r.to_string(), "Closing::drop: already closed: `conn`");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DropReport {
    /// A cleanup error (with its suppressed ones) that nothing could return.
    Cleanup {
        /// Where it happened (`"ExitStack::drop"`, `"AsyncExitStack::drop"`, ...).
        context: &'static str,
        /// The error.
        error: Error,
    },
    /// A scope body's error that could not be returned: a cleanup panic resumed instead,
    /// or the scope's cleanup was cancelled. The body's error is the caller's type, so it
    /// is kept as its message.
    BodyErrorLost {
        /// Where it happened.
        context: &'static str,
        /// The body error's message, with its causes.
        message: String,
    },
    /// A panic that could not resume because the cleanup it was waiting for was cancelled
    /// (the body's panic, or a cleanup's).
    PanicLost {
        /// Where it happened.
        context: &'static str,
        /// What panicked and its message (`"the scope body panicked: boom"`).
        message: String,
    },
    /// A pool lease held longer than the pool's `leak_threshold`: reported while it is still
    /// held (when the pool's maintenance sees it) and when it comes back — once or twice,
    /// as `returned` and `reported_while_held` tell.
    LeaseHeldTooLong {
        /// Which pool ([`PoolConfig::name`](crate::pool::PoolConfig::name)).
        pool: std::borrow::Cow<'static, str>,
        /// Where the lease was acquired (the caller of `get`).
        site: &'static std::panic::Location<'static>,
        /// How long it had been held.
        held: std::time::Duration,
        /// The pool's `leak_threshold`.
        threshold: std::time::Duration,
        /// `false` while the lease is still held (maintenance saw it), `true` when it has
        /// come back.
        returned: bool,
        /// On return: whether a report was made while it was held (`false`: this is the
        /// only report — it came back before maintenance saw it). `false` while held.
        reported_while_held: bool,
    },
}

impl DropReport {
    /// Where it happened, as far as a static text can say: the report's `context`, and for
    /// a lease held too long `"pool: a lease held past leak_threshold"` (which pool is its
    /// `pool` field).
    ///
    /// ```
    /// let r = tenure::sink::DropReport::PanicLost { context: "async scope", message: "boom".into() };
    /// assert_eq!(r.context(), "async scope");
    /// ```
    pub fn context(&self) -> &'static str {
        match self {
            DropReport::Cleanup { context, .. }
            | DropReport::BodyErrorLost { context, .. }
            | DropReport::PanicLost { context, .. } => context,
            DropReport::LeaseHeldTooLong { .. } => "pool: a lease held past leak_threshold",
        }
    }

    /// The cleanup error, for [`DropReport::Cleanup`].
    ///
    /// ```
    /// let r = tenure::sink::DropReport::Cleanup { context: "x", error: tenure::Error::closed("a") };
    /// assert_eq!(r.error().unwrap().resource(), "a");
    /// ```
    pub fn error(&self) -> Option<&Error> {
        match self {
            DropReport::Cleanup { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// `context: ` and the report rendered completely (an error's whole chain and suppressed
/// members; a message as it is).
impl fmt::Display for DropReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReport::Cleanup { context, error } => write!(f, "{context}: {}", error.report()),
            DropReport::BodyErrorLost { context, message } => {
                write!(
                    f,
                    "{context}: the scope body's error could not be returned: {message}"
                )
            }
            DropReport::PanicLost { context, message } => {
                write!(
                    f,
                    "{context}: {message} (not resumed: its cleanup was cancelled)"
                )
            }
            DropReport::LeaseHeldTooLong {
                pool,
                site,
                held,
                threshold,
                returned: false,
                ..
            } => write!(
                f,
                "pool `{pool}`: a lease acquired at {site} is still held after {held:.1?} (leak_threshold {threshold:?}): a leak?"
            ),
            DropReport::LeaseHeldTooLong {
                pool,
                site,
                held,
                threshold,
                returned: true,
                reported_while_held,
            } => write!(
                f,
                "pool `{pool}`: a lease acquired at {site} came back after {held:.1?} (leak_threshold {threshold:?}; {})",
                if *reported_while_held {
                    "reported while held"
                } else {
                    "not seen while held"
                }
            ),
        }
    }
}

/// Receives what tenure reports where nothing can return it. Called from `Drop`, from
/// orphaned cleanup tasks, from the helper thread: it must be cheap and must not block for
/// long. A panic in it is caught (and the report logged through `tracing`). It is
/// `RefUnwindSafe` so that the owners that carry it stay usable across `catch_unwind`
/// (a `Mutex` or atomics inside are fine; a `RefCell` is not `Sync` anyway).
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use tenure::sink::{DropReport, Sink};
///
/// #[derive(Default)]
/// struct Count(AtomicUsize);
/// impl Sink for Count {
///     fn report(&self, _: DropReport) { self.0.fetch_add(1, Ordering::Relaxed); }
/// }
///
/// let count = Arc::new(Count::default());
/// let mut s = tenure::ExitStack::new().with_sink(count.clone());
/// s.try_callback(|| Err(std::fmt::Error));
/// drop(s);
/// assert_eq!(count.0.load(Ordering::Relaxed), 1);
/// ```
pub trait Sink: Send + Sync + std::panic::RefUnwindSafe + std::panic::UnwindSafe + 'static {
    /// Takes one report.
    fn report(&self, report: DropReport);
}

/// The default sink: each report is a `tracing` warning under the `tenure` target, one
/// event per error (a cleanup error's suppressed ones, and a nested stack's, on events of
/// their own) with `context`, `resource`, `kind` and `suppressed` fields.
///
/// ```
/// use tenure::sink::{DropReport, Sink, TracingSink};
/// TracingSink.report(DropReport::PanicLost { context: "example", message: "boom".into() });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingSink;

impl Sink for TracingSink {
    fn report(&self, report: DropReport) {
        trace(&report);
    }
}

/// What [`TracingSink`] does, for a report that is only borrowed.
pub(crate) fn trace(report: &DropReport) {
    {
        match report {
            DropReport::Cleanup { context, error } => trace_each(error, context, &mut true),
            DropReport::BodyErrorLost { context, message } => tracing::warn!(
                target: "tenure",
                context,
                "the scope body's error could not be returned: {message}"
            ),
            DropReport::PanicLost { context, message } => tracing::warn!(
                target: "tenure",
                context,
                "{message}; it is not resumed because its cleanup was cancelled"
            ),
            DropReport::LeaseHeldTooLong {
                pool, site, held, ..
            } => tracing::warn!(
                target: "tenure",
                pool = &**pool,
                site = %site,
                held_ms = held.as_millis() as u64,
                "{report}"
            ),
        }
    }
}

/// Reports a cleanup error that nothing can return (a `Drop`, an orphaned cleanup) to
/// `sink`, else the process-wide default sink, else through `tracing`.
pub(crate) fn report_dropped(sink: Option<&SharedSink>, error: Error, context: &'static str) {
    emit(sink, DropReport::Cleanup { context, error });
}

/// Logs `error` as `tracing` warnings, one per member, nested stacks' members included.
pub(crate) fn trace_each(error: &Error, context: &'static str, primary: &mut bool) {
    for e in error.iter() {
        // A nested stack's errors travel as this error's cause: this line stops before
        // them, and they follow on lines of their own (each message once).
        let mut line = e.to_string();
        let mut nested = None;
        let mut next = std::error::Error::source(e);
        while let Some(link) = next {
            if let Some(group) = link.downcast_ref::<Error>() {
                nested = Some(group);
                break;
            }
            line.push_str(": ");
            line.push_str(&link.to_string());
            next = link.source();
        }
        tracing::warn!(
            target: "tenure",
            context,
            resource = e.resource(),
            kind = ?e.kind(),
            suppressed = !*primary,
            "cleanup error with nowhere to return it: {line}"
        );
        *primary = false;
        if let Some(group) = nested {
            trace_each(group, context, primary);
        }
    }
}

/// A sink that keeps reports as values: the first `limit`, counting the rest.
///
/// ```
/// use tenure::sink::{CollectingSink, DropReport, Sink};
/// let sink = CollectingSink::new(1);
/// for i in 0..3 {
///     sink.report(DropReport::PanicLost { context: "x", message: format!("p{i}") });
/// }
/// assert_eq!(sink.take().len(), 1);
/// assert_eq!(sink.overflowed(), 2);
/// ```
pub struct CollectingSink {
    limit: usize,
    kept: Mutex<(Vec<DropReport>, u64)>,
}

impl CollectingSink {
    /// A sink that keeps at most `limit` reports until they are taken.
    ///
    /// ```
    /// assert!(tenure::sink::CollectingSink::new(8).take().is_empty());
    /// ```
    pub fn new(limit: usize) -> Self {
        CollectingSink {
            limit,
            kept: Mutex::new((Vec::new(), 0)),
        }
    }

    /// Takes the reports kept so far, oldest first (making room for more).
    ///
    /// ```
    /// use tenure::sink::{CollectingSink, DropReport, Sink};
    /// let sink = CollectingSink::new(8);
    /// sink.report(DropReport::PanicLost { context: "x", message: "boom".into() });
    /// assert_eq!(sink.take().len(), 1);
    /// assert!(sink.take().is_empty());
    /// ```
    pub fn take(&self) -> Vec<DropReport> {
        std::mem::take(&mut self.lock().0)
    }

    /// How many reports arrived while it was full (they were counted, not kept).
    ///
    /// ```
    /// assert_eq!(tenure::sink::CollectingSink::new(8).overflowed(), 0);
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.lock().1
    }

    /// Takes only the cleanup errors kept so far, oldest first, leaving the other reports.
    pub(crate) fn take_errors(&self) -> Vec<Error> {
        let mut kept = self.lock();
        let (errors, rest) = std::mem::take(&mut kept.0)
            .into_iter()
            .partition::<Vec<_>, _>(|r| matches!(r, DropReport::Cleanup { .. }));
        kept.0 = rest;
        errors
            .into_iter()
            .filter_map(|r| match r {
                DropReport::Cleanup { error, .. } => Some(error),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<DropReport>, u64)> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for CollectingSink {
    fn report(&self, report: DropReport) {
        let mut kept = self.lock();
        if kept.0.len() < self.limit {
            kept.0.push(report);
        } else {
            kept.1 += 1;
        }
    }
}

impl fmt::Debug for CollectingSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.lock();
        f.debug_struct("CollectingSink")
            .field("limit", &self.limit)
            .field("kept", &kept.0.len())
            .field("overflowed", &kept.1)
            .finish()
    }
}

/// A shared sink, as owners carry it.
pub type SharedSink = Arc<dyn Sink>;

fn global() -> &'static RwLock<Option<SharedSink>> {
    static GLOBAL: OnceLock<RwLock<Option<SharedSink>>> = OnceLock::new();
    GLOBAL.get_or_init(|| RwLock::new(None))
}

/// Sets the process-wide default sink, used by every owner that carries none (initially
/// [`TracingSink`]).
///
/// ```
/// use std::sync::Arc;
/// use tenure::sink::{set_default, TracingSink};
/// set_default(Arc::new(TracingSink));
/// ```
pub fn set_default(sink: SharedSink) {
    *global().write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
}

/// Hands `report` to `sink`, else the process-wide default, else [`TracingSink`]; a sink
/// that panics is caught and the report logged through `tracing`.
pub(crate) fn emit(sink: Option<&SharedSink>, report: DropReport) {
    if let Some(report) = offer(sink, report) {
        TracingSink.report(report);
    }
}

/// Hands `report` to `sink`, else the process-wide default; gives it back when there is
/// neither (for the caller's own default).
pub(crate) fn offer(sink: Option<&SharedSink>, report: DropReport) -> Option<DropReport> {
    let chosen = match sink {
        Some(s) => s.clone(),
        None => match global().read().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(s) => s,
            None => return Some(report),
        },
    };
    deliver(&chosen, report);
    None
}

fn deliver(sink: &SharedSink, report: DropReport) {
    // The report moves into the call; if the sink panics, what it said is logged from
    // this rendering.
    let text = report.to_string();
    if catch_unwind(AssertUnwindSafe(|| sink.report(report))).is_err() {
        tracing::error!(target: "tenure", "a report sink panicked; the report it was given: {text}");
    }
}
