//! Running an orphaned batch: on the current tokio runtime as a task, or on the helper
//! thread, each cleanup bounded by its deadline and with panics caught.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
#[cfg(not(feature = "tokio"))]
use std::task::Waker;
use std::task::{Context, Poll};
use std::time::Duration;

use super::*;

/// Polls a future, turning a panic into a value.
pub(crate) struct CatchUnwind<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(fut).poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Where cleanup that outlives its owner goes and how long each job may take: the tracker it
/// is counted by (the global [`orphans()`] unless one was given) and the per-job deadline.
/// What `AsyncExitStack`, `AsyncGuard`, `AsyncClosing` and an in-flight cleanup carry.
#[derive(Debug, Clone)]
pub(crate) struct Orphaning {
    pub(crate) deadline: Duration,
    pub(crate) orphans: Option<Orphans>,
    /// The runtime to run on instead of the current one (the pool's, say).
    #[cfg(feature = "tokio")]
    pub(crate) runtime: Option<tokio::runtime::Handle>,
}

impl Default for Orphaning {
    fn default() -> Self {
        Orphaning {
            deadline: DEFAULT_DEADLINE,
            orphans: None,
            #[cfg(feature = "tokio")]
            runtime: None,
        }
    }
}

impl Orphaning {
    /// Reports `report` through the tracker (its sink, else the process default, else
    /// `tracing` and [`Orphans::take_errors`]).
    pub(crate) fn report(&self, report: crate::sink::DropReport) {
        match &self.orphans {
            Some(o) => o.report(report),
            None => orphans().report(report),
        }
    }

    /// Hands `jobs` over as one batch (see [`adopt`]), to the given tracker or the global one.
    pub(crate) fn adopt(&self, jobs: VecDeque<Job>, context: &'static str) {
        let orphans = self.orphans.clone().unwrap_or_else(orphans);
        adopt(
            &orphans,
            self.deadline,
            #[cfg(feature = "tokio")]
            self.runtime.as_ref(),
            jobs,
            context,
        );
    }
}

/// Hands `jobs` (in the order they must run) to the runtime or the helper thread, counted by
/// `orphans` until all ran.
pub(crate) fn adopt(
    orphans: &Orphans,
    deadline: Duration,
    #[cfg(feature = "tokio")] runtime: Option<&tokio::runtime::Handle>,
    jobs: VecDeque<Job>,
    context: &'static str,
) {
    if jobs.is_empty() {
        return;
    }
    orphans.adopted();
    let batch = Batch {
        jobs,
        deadline,
        orphans: orphans.clone(),
        context,
        counted: true,
        on_helper: false,
        front_started: false,
        current: None,
    };
    #[cfg(feature = "tokio")]
    let runner = crate::runtime::runner(runtime);
    #[cfg(not(feature = "tokio"))]
    let runner = crate::runtime::runner();
    match runner {
        // Never block here: on a current-thread runtime that would deadlock.
        #[cfg(feature = "tokio")]
        crate::runtime::Runner::Tokio(handle) => drop(handle.spawn(batch.run_async())),
        crate::runtime::Runner::Helper => batch.run_on_helper_thread(),
    }
}

/// The cleanups of one dropped owner, run in order. If it is dropped before it finished
/// (its runtime shut down), the rest runs on the helper thread: a batch always completes.
pub(super) struct Batch {
    pub(super) jobs: VecDeque<Job>,
    pub(super) deadline: Duration,
    pub(super) orphans: Orphans,
    pub(super) context: &'static str,
    /// Whether dropping this batch ends the count `adopt` started.
    pub(super) counted: bool,
    /// Whether it already runs on (or was handed to) the helper thread.
    pub(super) on_helper: bool,
    /// Whether the front job has been polled on a runtime (and may hold its timers or
    /// sockets): if that runtime shuts down, the job is given up, not moved.
    pub(super) front_started: bool,
    /// On the helper thread: the name of the job running, for the thread that waits.
    pub(super) current: Option<CurrentJob>,
}

/// The name of the job a helper thread is running, shared with the thread waiting for it.
pub(super) type CurrentJob = Arc<Mutex<Option<Cow<'static, str>>>>;

fn lock_name(m: &CurrentJob) -> std::sync::MutexGuard<'_, Option<Cow<'static, str>>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Batch {
    #[cfg(feature = "tokio")]
    async fn run_async(mut self) {
        let deadline = self.deadline;
        while let Some(job) = self.jobs.front_mut() {
            self.front_started = true;
            if let Some(current) = &self.current {
                *lock_name(current) = Some(job.name.clone());
            }
            let ran = match tokio::time::timeout(deadline, CatchUnwind(job.fut.as_mut())).await {
                Ok(Ok(result)) => Ran::Done(result),
                Ok(Err(payload)) => Ran::Panicked(payload),
                Err(_) => Ran::TimedOut,
            };
            self.front_started = false;
            self.finish_front(ran);
        }
    }

    /// Runs every job on this thread, each bounded by the deadline, without any runtime.
    #[cfg(not(feature = "tokio"))]
    fn run_parked(mut self) {
        let deadline = self.deadline;
        while let Some(job) = self.jobs.front_mut() {
            if let Some(current) = &self.current {
                *lock_name(current) = Some(job.name.clone());
            }
            let ran = match block_on_until(CatchUnwind(job.fut.as_mut()), deadline) {
                Some(Ok(result)) => Ran::Done(result),
                Some(Err(payload)) => Ran::Panicked(payload),
                None => Ran::TimedOut,
            };
            self.finish_front(ran);
        }
    }

    fn finish_front(&mut self, ran: Ran) {
        if let Some(job) = self.jobs.pop_front() {
            // A late cleanup is dropped here: abandoned, not awaited forever.
            drop(job.fut);
            self.orphans
                .record(&job.name, ran, self.deadline, self.context);
        }
    }

    fn run_here(self) {
        #[cfg(feature = "tokio")]
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(self.run_async()),
            Err(e) => {
                tracing::error!(target: "tenure", "cannot build a runtime for orphaned cleanup: {e}");
                let mut this = self;
                this.abandon();
            }
        }
        #[cfg(not(feature = "tokio"))]
        self.run_parked();
    }

    /// Runs the batch on a helper thread and waits for it (bounded by the deadlines).
    fn run_on_helper_thread(mut self) {
        let counted = std::mem::replace(&mut self.counted, false);
        let orphans = self.orphans.clone();
        let context = self.context;
        // If even the helper cannot run them, dropping the batch reports the jobs instead of
        // trying another helper.
        self.on_helper = true;
        let current: CurrentJob = Arc::default();
        self.current = Some(current.clone());
        let (done, finished) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("tenure-cleanup".into())
            .spawn(move || {
                self.run_here();
                drop(done);
            });
        match spawned {
            Ok(thread) => {
                // This thread is held until the batch is done: say which cleanup holds it.
                let mut warned: Option<Cow<'static, str>> = None;
                while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(HELPER_PATIENCE) {
                    let name = lock_name(&current).clone();
                    if name.is_some() && name != warned {
                        tracing::warn!(
                            target: "tenure",
                            context,
                            cleanup = name.as_deref().unwrap_or(""),
                            "still waiting for orphaned cleanup `{}` on the helper thread \
                             (each cleanup may take up to its deadline)",
                            name.as_deref().unwrap_or("")
                        );
                        warned = name;
                    }
                }
                let _ = thread.join();
            }
            Err(e) => {
                tracing::error!(target: "tenure", "cannot start a thread for orphaned cleanup: {e}");
            }
        }
        if counted {
            orphans.finished();
        }
    }

    /// Reports every job left as abandoned (the last resort when nothing can run them).
    fn abandon(&mut self) {
        while !self.jobs.is_empty() {
            self.finish_front(Ran::TimedOut);
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if std::mem::take(&mut self.front_started) && !self.on_helper {
            // Dropped by its runtime's shutdown mid-job: what that job awaits belongs to
            // the dying runtime and can never complete. Give it up at once (the rest still
            // runs on the helper) instead of holding the shutdown for its whole deadline.
            self.finish_front(Ran::Abandoned);
        }
        if !self.jobs.is_empty() {
            if self.on_helper {
                self.abandon();
            } else {
                let rest = Batch {
                    jobs: std::mem::take(&mut self.jobs),
                    deadline: self.deadline,
                    orphans: self.orphans.clone(),
                    context: self.context,
                    counted: false,
                    on_helper: false,
                    front_started: false,
                    current: None,
                };
                rest.run_on_helper_thread();
            }
        }
        if self.counted {
            self.counted = false;
            self.orphans.finished();
        }
    }
}

/// Polls `fut` on this thread until it is ready or `deadline` passed.
#[cfg(not(feature = "tokio"))]
fn block_on_until<F: Future + Unpin>(mut fut: F, deadline: Duration) -> Option<F::Output> {
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Instant;

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let end = Instant::now() + deadline;
    loop {
        if let Poll::Ready(v) = Pin::new(&mut fut).poll(&mut cx) {
            return Some(v);
        }
        let now = Instant::now();
        if now >= end {
            return None;
        }
        std::thread::park_timeout(end - now);
    }
}

/// A future being awaited by its owner that must not be lost if the owner is dropped
/// mid-await: dropped unfinished, it is orphaned (finished as a task, `report` turning its
/// output into the error to report).
pub(crate) struct InFlight<O: 'static> {
    name: Cow<'static, str>,
    fut: Option<Pin<Box<dyn Future<Output = O> + Send>>>,
    report: fn(O, Cow<'static, str>) -> Result<(), Error>,
    to: Orphaning,
}

impl<O: 'static> InFlight<O> {
    pub(crate) fn new(
        name: Cow<'static, str>,
        fut: Pin<Box<dyn Future<Output = O> + Send>>,
        report: fn(O, Cow<'static, str>) -> Result<(), Error>,
        to: Orphaning,
    ) -> Self {
        InFlight {
            name,
            fut: Some(fut),
            report,
            to,
        }
    }
}

impl<O: 'static> Future for InFlight<O> {
    type Output = O;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let Some(fut) = self.fut.as_mut() else {
            panic!("InFlight polled after it finished");
        };
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                self.fut = None;
                Poll::Ready(out)
            }
            Err(payload) => {
                // A panic reaches the awaiting owner; the broken future is not orphaned.
                self.fut = None;
                std::panic::resume_unwind(payload)
            }
        }
    }
}

impl<O: 'static> Drop for InFlight<O> {
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            let name = std::mem::take(&mut self.name);
            let report = self.report;
            let job_name = name.clone();
            let job = Job::new(job_name, Box::pin(async move { report(fut.await, name) }));
            self.to
                .adopt([job].into(), "cancelled while awaiting cleanup");
        }
    }
}
