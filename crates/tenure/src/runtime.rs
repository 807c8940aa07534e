//! The one place that decides where detached work runs.
//!
//! - Orphaned async cleanup: an explicitly given tokio runtime handle if there is one, else
//!   the current tokio runtime when it has timers (the deadline is a tokio timer), else the
//!   helper thread ([`runner`]).
//! - The pool's work (feature `pool`): on the pool's runtime if it has one, else on
//!   threads of its own. Its blocking work (a blocking create, validate, reset or close)
//!   keeps a thread of the pool's own per job, under a bound (`pool/bound.rs`) — never
//!   the runtime's `spawn_blocking`, whose shutdown waits for every task, nor the
//!   orphans' one helper thread, where one hung close would hold up the others; its timed work (the retry after a create backoff, the maintenance
//!   driver) is a task on the runtime or a sleeping thread ([`run_later`], [`run_every`]);
//!   and a blocking acquire asks [`blocking_wait`] how this thread may wait.
//!
//! Tokio offers no "does this runtime have a time driver" query; creating a timer on a
//! runtime without one panics. The probe catches that panic *and* keeps it silent: a panic
//! hook installed once, on the first probe, stays quiet for the probing thread only and
//! hands every other panic to the hook that was there before. (A program that replaces the
//! panic hook afterwards sees the probe's message again, once per orphaned batch on such a
//! runtime; nothing else changes.)

#[cfg(feature = "tokio")]
pub(crate) use with_tokio::*;

/// Where a piece of detached work will run.
#[derive(Debug)]
pub(crate) enum Runner {
    /// As a task on this runtime, which has timers.
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    /// On the helper thread (a small executor the caller waits for).
    Helper,
}

#[cfg(feature = "tokio")]
mod with_tokio {
    use std::cell::Cell;
    use std::panic;
    use std::sync::Once;
    use std::time::Duration;

    use super::Runner;

    thread_local! {
        static PROBING: Cell<bool> = const { Cell::new(false) };
    }

    /// Where detached work goes: `explicit` if given (and it has timers), else the current
    /// runtime if it has timers, else the helper thread.
    pub(crate) fn runner(explicit: Option<&tokio::runtime::Handle>) -> Runner {
        let handle = match explicit {
            Some(h) => h.clone(),
            None => match tokio::runtime::Handle::try_current() {
                Ok(h) => h,
                Err(_) => return Runner::Helper,
            },
        };
        if has_timers(&handle) {
            Runner::Tokio(handle)
        } else {
            Runner::Helper
        }
    }

    /// Whether `handle`'s runtime was built with its time driver, asked without printing
    /// anything.
    pub(crate) fn has_timers(handle: &tokio::runtime::Handle) -> bool {
        let _entered = handle.enter();
        probe(|| drop(tokio::time::sleep(Duration::ZERO)))
    }

    /// Whether this thread may block inside a current-thread runtime's context: `false` on
    /// the runtime's own thread (in `block_on` or a task: blocking there stops the
    /// runtime), `true` on its `spawn_blocking` threads. Tokio has no query for it, but
    /// `block_in_place` refuses (panics, before doing anything) exactly on the former and is
    /// a no-op on the latter; asked without printing anything.
    #[cfg(feature = "pool")]
    pub(crate) fn may_block_on_current_thread_runtime() -> bool {
        probe(|| tokio::task::block_in_place(|| ()))
    }

    /// How a blocking pool acquire may wait on this thread.
    #[cfg(feature = "pool")]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum BlockingWait {
        /// Park the thread: no runtime here, or a `spawn_blocking` thread.
        Park,
        /// A multi-thread runtime's worker: wait through `block_in_place`.
        InPlace,
        /// A current-thread runtime's own thread: blocking it would stop the runtime.
        Refused,
    }

    /// How a blocking pool acquire may wait on the calling thread.
    #[cfg(feature = "pool")]
    #[inline]
    pub(crate) fn blocking_wait() -> BlockingWait {
        match tokio::runtime::Handle::try_current() {
            Err(_) => BlockingWait::Park, // no runtime
            Ok(h) => match h.runtime_flavor() {
                tokio::runtime::RuntimeFlavor::CurrentThread => {
                    if may_block_on_current_thread_runtime() {
                        BlockingWait::Park // one of its spawn_blocking threads
                    } else {
                        BlockingWait::Refused // its own thread
                    }
                }
                _ => BlockingWait::InPlace,
            },
        }
    }

    /// Runs future `fut` to its end on a thread `name` of its own, with a current-thread
    /// runtime (timers on) of its own: a pool's async work when the pool has no runtime
    /// (a manager that says `ASYNC = false` and hands back a future).
    #[cfg(feature = "pool")]
    pub(crate) fn run_future_alone(
        (name, what): (&str, &str),
        fut: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let what_ = what.to_owned();
        spawn_thread(
            name,
            what,
            move || match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(fut),
                Err(e) => tracing::error!(
                    target: "tenure",
                    "the pool cannot start a runtime for {what_}: {e}"
                ),
            },
        );
    }

    /// Runs `f` after `wait`: a task on `runtime` (tokio's clock), else a thread `name`
    /// that sleeps first.
    #[cfg(all(feature = "pool", not(loom)))]
    pub(crate) fn run_later(
        runtime: Option<&tokio::runtime::Handle>,
        (name, what): (&str, &str),
        wait: Duration,
        f: impl FnOnce() + Send + 'static,
    ) {
        match runtime {
            Some(rt) => drop(rt.spawn(async move {
                tokio::time::sleep(wait).await;
                f();
            })),
            None => spawn_thread(name, what, move || {
                std::thread::sleep(wait);
                f();
            }),
        }
    }

    /// Runs `round` every `every` (the first after one period) until it returns `false`:
    /// a task on `runtime` (missed ticks delayed, not bunched), else a thread named `name`.
    #[cfg(all(feature = "pool", not(loom)))]
    pub(crate) fn run_every(
        runtime: Option<&tokio::runtime::Handle>,
        (name, what): (&str, &str),
        every: Duration,
        mut round: impl FnMut() -> bool + Send + 'static,
    ) {
        match runtime {
            Some(rt) => drop(rt.spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await; // the first tick is immediate
                loop {
                    ticks.tick().await;
                    if !round() {
                        break;
                    }
                }
            })),
            None => spawn_thread(name, what, move || loop {
                std::thread::sleep(every);
                if !round() {
                    break;
                }
            }),
        }
    }

    /// Starts a thread named `name`; a failure to start one is logged (nothing can return
    /// it: the caller is a `Drop` or a completion).
    #[cfg(feature = "pool")]
    fn spawn_thread(name: &str, what: &str, f: impl FnOnce() + Send + 'static) {
        if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
            tracing::error!(target: "tenure", "the pool cannot start a thread for {what}: {e}");
        }
    }

    /// Runs `f`, `false` if it panicked — silently (see the module docs).
    fn probe(f: impl FnOnce() + panic::UnwindSafe) -> bool {
        static QUIET_HOOK: Once = Once::new();
        QUIET_HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !PROBING.with(Cell::get) {
                    previous(info)
                }
            }));
        });
        PROBING.with(|p| p.set(true));
        let ok = panic::catch_unwind(f).is_ok();
        PROBING.with(|p| p.set(false));
        ok
    }
}

/// Without tokio, everything detached runs on the helper thread.
#[cfg(not(feature = "tokio"))]
pub(crate) fn runner() -> Runner {
    Runner::Helper
}
