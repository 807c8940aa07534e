//! The one place that decides where detached async work runs (orphaned cleanup today, the
//! pool's background work later): an explicitly given tokio runtime handle if there is one,
//! else the current tokio runtime when it has timers (the deadline is a tokio timer), else
//! the helper thread.
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
