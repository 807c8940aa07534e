//! Stress: thousands of async scopes on a multi-thread runtime, cancelled at random points
//! (a timeout, a `select!` loser, an `abort()`), in the body or in the middle of cleanup,
//! with closes that fail or panic. Afterwards every resource acquired was released exactly
//! once, and every injected fault that fired was reported — returned by the scope,
//! resumed as a panic, kept by the stack's orphan tracker, or logged through `tracing`.
//!
//! Reproducible: the plan of every task comes from `TENURE_STRESS_SEED` (printed; a fixed
//! default otherwise); `TENURE_STRESS_TASKS` changes the count. Only which cancellation wins
//! its race depends on the scheduler, and every outcome of those races is checked.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenure::orphan::Orphans;
use tenure::testing::{Event, Fault, Ledger, Op};
use tenure::{AsyncExitStack, ScopeError};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// SplitMix64: a few lines, good enough to spread plans, and the same on every platform.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy)]
enum Ending {
    Success,
    Error,
    Panic,
}

#[derive(Debug, Clone, Copy)]
enum Cancel {
    None,
    Timeout,
    Select,
    Abort,
}

/// What one task does, decided up front from the seed.
#[derive(Debug, Clone)]
struct Plan {
    /// The task's resource kind: faults are planned per kind, so they stay deterministic
    /// whatever order the tasks run in.
    kind: String,
    /// How each resource is held: 0 `enter_named` (async close), 1 `enter_sync`,
    /// 2 a named fallible async callback.
    holds: Vec<u8>,
    /// After each acquisition: 0 nothing, 1 `yield_now`, 2 a 1 ms sleep.
    waits: Vec<u8>,
    ending: Ending,
    cancel: Cancel,
    /// When the cancellation fires, in microseconds (tokio rounds up to its 1 ms tick).
    cancel_after_us: u64,
    /// The faults planned for the closes of `kind`: which close (from 1) and what it does.
    faults: BTreeMap<u64, Fault>,
}

fn plan(rng: &mut Rng, task: usize, faults: &tenure::testing::Faults) -> Plan {
    let kind = format!("t{task}");
    let n = 2 + rng.below(4); // 2..=5 resources
    let mut planned = BTreeMap::new();
    // About one task in three gets a failing close, one in eight a panicking one.
    if rng.below(3) == 0 {
        planned.insert(1 + rng.below(n), Fault::Error);
    }
    if rng.below(8) == 0 {
        planned.entry(1 + rng.below(n)).or_insert(Fault::Panic);
    }
    for (&at, &fault) in &planned {
        faults.inject(Op::Close, kind.clone(), at, fault);
    }
    Plan {
        holds: (0..n).map(|_| rng.below(3) as u8).collect(),
        waits: (0..n).map(|_| rng.below(3) as u8).collect(),
        ending: match rng.below(10) {
            0..=5 => Ending::Success,
            6..=8 => Ending::Error,
            _ => Ending::Panic,
        },
        cancel: match rng.below(8) {
            0..=2 => Cancel::None,
            3 | 4 => Cancel::Timeout,
            5 | 6 => Cancel::Select,
            _ => Cancel::Abort,
        },
        cancel_after_us: rng.below(3_000),
        faults: planned,
        kind,
    }
}

/// The scope one task runs.
async fn scope(
    plan: Plan,
    ledger: Ledger,
    orphans: Orphans,
    panicked: Panicked,
) -> Result<(), ScopeError<std::io::Error>> {
    let mut stack = AsyncExitStack::new()
        .with_orphans(orphans)
        .with_deadline(Duration::from_secs(600)); // nothing hangs: never reached
    stack
        .run(async move |s| {
            for (i, (&hold, &wait)) in plan.holds.iter().zip(&plan.waits).enumerate() {
                let res = ledger
                    .acquire(plan.kind.clone())
                    .expect("no acquire faults are planned");
                match hold {
                    0 => drop(s.named(plan.kind.clone()).enter(res)),
                    1 => drop(s.enter_sync(res)),
                    _ => s.named(format!("{} cb {i}", plan.kind)).try_async_callback(
                        move || async move {
                            tokio::task::yield_now().await;
                            res.release()
                        },
                    ),
                }
                match wait {
                    0 => {}
                    1 => tokio::task::yield_now().await,
                    _ => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
            match plan.ending {
                Ending::Success => Ok(()),
                Ending::Error => Err(std::io::Error::other(format!(
                    "body error of {}",
                    plan.kind
                ))),
                Ending::Panic => {
                    panicked.lock().unwrap().insert(plan.kind.clone());
                    panic!("body panic of {}", plan.kind)
                }
            }
        })
        .await
}

/// What a task ended with, as seen from outside.
#[derive(Debug)]
enum Seen {
    Finished(Result<(), ScopeError<std::io::Error>>),
    Cancelled,
    Panicked(String),
}

/// The kinds of the tasks whose body reached its panic.
type Panicked = Arc<Mutex<BTreeSet<String>>>;

async fn run_task(plan: Plan, ledger: Ledger, orphans: Orphans, panicked: Panicked) -> Seen {
    let after = Duration::from_micros(plan.cancel_after_us);
    let fut = scope(plan.clone(), ledger, orphans, panicked);
    let task = match plan.cancel {
        Cancel::None => tokio::spawn(async move { Some(fut.await) }),
        Cancel::Timeout => tokio::spawn(async move { tokio::time::timeout(after, fut).await.ok() }),
        Cancel::Select => tokio::spawn(async move {
            tokio::select! {
                r = fut => Some(r),
                () = tokio::time::sleep(after) => None,
            }
        }),
        Cancel::Abort => {
            let handle = tokio::spawn(async move { Some(fut.await) });
            tokio::time::sleep(after).await;
            handle.abort();
            handle
        }
    };
    match task.await {
        Ok(Some(r)) => Seen::Finished(r),
        Ok(None) => Seen::Cancelled,
        Err(e) if e.is_cancelled() => Seen::Cancelled,
        Err(e) => {
            let payload = e.into_panic();
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Seen::Panicked(msg)
        }
    }
}

/// Every `tenure` event's message, from every thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "tenure" {
            return;
        }
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0.lock().unwrap().push(m.0);
    }
}

/// The `(kind, n)` of every "injected fault: close #n of `kind`" in `text`.
fn faults_in(text: &str, into: &mut BTreeSet<(String, u64)>) {
    const MARK: &str = "injected fault: close #";
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        rest = &rest[at + MARK.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        let Some(after) = after.strip_prefix(" of `") else {
            continue;
        };
        let Some(end) = after.find('`') else { continue };
        into.insert((after[..end].to_string(), digits.parse().unwrap()));
    }
}

fn errors_in(e: &tenure::Error, into: &mut BTreeSet<(String, u64)>) {
    for each in e.iter() {
        faults_in(&each.report().to_string(), into);
        faults_in(each.detail().unwrap_or(""), into);
    }
}

#[test]
fn thousands_of_cancelled_scopes_release_everything_once_and_report_every_fault() {
    // Injected and body panics are expected by the thousand: keep them off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if !(msg.starts_with("injected fault") || msg.starts_with("body panic")) {
            default_hook(info);
        }
    }));
    let captured = Captured::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(captured.clone()))
        .expect("the only subscriber of this test binary");

    let seed = std::env::var("TENURE_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7E4E_E5EE_D5EE_D5EE_u64);
    let tasks: usize = std::env::var("TENURE_STRESS_TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    println!("TENURE_STRESS_SEED={seed} TENURE_STRESS_TASKS={tasks}");

    let ledger = Ledger::new();
    let faults = ledger.faults().clone();
    let mut rng = Rng(seed);
    let plans: Vec<Plan> = (0..tasks).map(|t| plan(&mut rng, t, &faults)).collect();
    let trackers: Vec<Orphans> = (0..tasks).map(|_| Orphans::new()).collect();
    let panicked = Panicked::default();

    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seen: Vec<Seen> = rt.block_on(async {
        let handles: Vec<_> = plans
            .iter()
            .zip(&trackers)
            .map(|(p, o)| {
                tokio::spawn(run_task(
                    p.clone(),
                    ledger.clone(),
                    o.clone(),
                    panicked.clone(),
                ))
            })
            .collect();
        let mut seen = Vec::with_capacity(handles.len());
        for h in handles {
            seen.push(h.await.expect("run_task itself never panics"));
        }
        for o in &trackers {
            o.join().await;
        }
        tenure::orphan::orphans().join().await;
        seen
    });
    drop(rt);
    let elapsed = started.elapsed();

    // Every resource acquired was closed (not merely dropped), exactly once.
    ledger.assert_all_closed();
    let events = ledger.events();
    let mut acquired: BTreeMap<String, u64> = BTreeMap::new();
    let mut released = BTreeSet::new();
    for e in &events {
        match e {
            Event::Acquired { kind, .. } => *acquired.entry(kind.to_string()).or_default() += 1,
            Event::Released { id, .. } | Event::CloseFailed { id, .. } => {
                assert!(released.insert(*id), "#{id} released twice")
            }
            other => panic!("a resource ended without a close: {other:?}"),
        }
    }
    assert_eq!(released.len() as u64, ledger.acquired_count());
    // ...and closed exactly once (a resource dropped instead of closed would not count).
    for (kind, n) in &acquired {
        assert_eq!(faults.count(Op::Close, kind), *n, "closes of `{kind}`");
    }

    // The faults that fired: those planned at or below the number of closes of their kind.
    let mut fired = BTreeSet::new();
    let mut planned = 0;
    for p in &plans {
        planned += p.faults.len();
        let n = acquired.get(&p.kind).copied().unwrap_or(0);
        fired.extend(
            p.faults
                .keys()
                .filter(|&&at| at <= n)
                .map(|&at| (p.kind.clone(), at)),
        );
    }

    // Every one was reported somewhere, and nothing else was.
    let mut reported = BTreeSet::new();
    let mut body_panics_seen = BTreeSet::new();
    let (mut finished, mut cancelled, mut panicked_tasks, mut body_panics) = (0, 0, 0, 0);
    for s in &seen {
        match s {
            Seen::Finished(r) => {
                finished += 1;
                match r {
                    Ok(())
                    | Err(ScopeError::Body { cleanup: None, .. } | ScopeError::Suppressed(_)) => {}
                    Err(
                        ScopeError::Body {
                            cleanup: Some(e), ..
                        }
                        | ScopeError::Cleanup(e),
                    ) => errors_in(e, &mut reported),
                }
            }
            Seen::Cancelled => cancelled += 1,
            Seen::Panicked(msg) => {
                panicked_tasks += 1;
                if let Some(kind) = msg.strip_prefix("body panic of ") {
                    body_panics += 1;
                    body_panics_seen.insert(kind.to_string());
                }
                faults_in(msg, &mut reported);
            }
        }
    }
    let mut orphan_errors = 0;
    for o in &trackers {
        assert_eq!(o.pending(), 0);
        for e in o.take_errors() {
            orphan_errors += 1;
            errors_in(&e, &mut reported);
        }
    }
    let logs = captured.0.lock().unwrap().clone();
    for line in &logs {
        faults_in(line, &mut reported);
        if let Some((_, rest)) = line.split_once("body panic of ") {
            let kind: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            body_panics_seen.insert(kind);
        }
    }
    let missing: Vec<_> = fired.difference(&reported).collect();
    let spurious: Vec<_> = reported.difference(&fired).collect();
    assert!(
        missing.is_empty(),
        "faults fired but not reported: {missing:?}"
    );
    assert!(
        spurious.is_empty(),
        "reported faults that did not fire: {spurious:?}"
    );
    // A body's panic is resumed out of its task or, if its cleanup was cancelled, logged.
    let panicked = panicked.lock().unwrap().clone();
    let unseen: Vec<_> = panicked.difference(&body_panics_seen).collect();
    assert!(unseen.is_empty(), "body panics lost: {unseen:?}");

    println!(
        "{tasks} tasks, {} resources, {} faults fired ({} planned), {finished} finished, \
         {cancelled} cancelled, {panicked_tasks} panicked ({body_panics} in the body, {} body panics in all), \
         {orphan_errors} orphaned cleanup errors, {} tenure log events, in {elapsed:?}",
        ledger.acquired_count(),
        fired.len(),
        planned,
        panicked.len(),
        logs.len(),
    );
}
