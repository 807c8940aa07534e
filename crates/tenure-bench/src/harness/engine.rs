//! The one measuring engine: every comparison's sides are calibrated, warmed up and timed
//! here, the same way.
//!
//! A [`Side`] runs one *repetition* of about `ops` operations and says what it measured
//! (a [`Rep`]). Four kinds of side exist, all built by a constructor the bench modules call:
//!
//! - [`op`]: a closure doing **one operation** on the calling thread without waiting for
//!   anything (no I/O wait, no other thread); the engine loops it `ops` times in a loop
//!   compiled for that closure alone ([`time_ops`]), every result through [`black_box`];
//! - [`op_waiting`]: the same for an operation that waits (a query to a server, a file
//!   sync, work handed to other threads): timed by the wall clock;
//! - [`runs`]: a closure that runs a whole repetition itself (tasks on a runtime, threads)
//!   and times it by the wall clock — the pool rows;
//! - [`cpython`]: a `python3` subprocess timing the same operation ([`crate::python`]); it
//!   calibrates its own loop count.
//!
//! # Which clock
//!
//! A comparison is timed by one [`Clock`] for all its sides: the **thread's CPU clock**
//! (`CLOCK_THREAD_CPUTIME_ID`, user and kernel time of the measuring thread — in Python
//! `time.thread_time`) when every side is [`op`] or [`cpython`], else the wall clock. The
//! machines this runs on are shared: with other processes runnable, a repetition timed by
//! the wall clock includes the time the bench waited for a CPU, and once more than half of
//! a side's repetitions are interrupted the median moves by whatever the scheduler did. The
//! thread's CPU clock does not count that wait. Measured on a 2-core machine with five
//! builds running (load 11–14), `accumulate/mode=view_per_step` vs `plain`, three
//! processes: wall-clock medians 0.30–4.3, the same repetitions by the CPU clock 0.97–1.17.
//! What the CPU clock still counts is what other processes cost the thread through the
//! caches and cores they share: under the same load, `stack` vs `cpython` read 80× in one
//! process and 42× in the next (tenure's side 12 µs, then 23 µs; the wall clock gave 14×),
//! so a row near its target still wants several processes. Sides that wait or use other
//! threads cannot be timed by one thread's CPU clock, so their comparisons stay on the wall
//! clock: compare those within one run on a quiet machine.
//!
//! # Steps
//!
//! [`measure`] does, for every comparison:
//!
//! 1. **Calibrate and warm up**: each side the engine calibrates runs repetitions in turn
//!    (A B A B …), its count doubling from the budget's smallest until one repetition lasts
//!    [`Budget::rep`], and the turns go on until every side is calibrated and
//!    [`Budget::warmup`] (wall time) has passed per side.
//! 2. **Measure**: `reps` rounds, each running one repetition of every side in turn
//!    (A B C A B C …); a side's figure per repetition is ns per operation.
//! 3. **Count allocations** (feature `allocs`, sides that ask): one more repetition of the
//!    side, untimed, counted ([`crate::allocs`]).
//!
//! [`profile`] runs one side alone for a fixed count, untimed, inside a function whose name
//! callgrind can toggle on (`--toggle-collect='*harness*engine*profiled*'`): instruction
//! counts of one side of any comparison, repeatable whatever the machine does.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::allocs;
use crate::python::{self, Snippet};

/// Timing budget of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Warm-up time per calibrated side, spent alternating the sides.
    pub warmup: Duration,
    /// Target duration of one repetition; each side's operation count is calibrated to
    /// reach it.
    pub rep: Duration,
    /// Repetitions per side.
    pub reps: usize,
    /// Smallest operation count per repetition (where calibration starts).
    pub min_ops: u64,
}

/// The clock a comparison is timed by (see "Which clock" above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The measuring thread's CPU time (user and kernel): what the thread itself spent,
    /// not the time it waited for a CPU. Falls back to the wall clock where the platform
    /// has no thread CPU clock.
    ThreadCpu,
    /// Elapsed real time.
    Wall,
}

impl Clock {
    /// A reading of this clock, from an arbitrary origin.
    pub fn now(self) -> Duration {
        match self {
            Clock::ThreadCpu => thread_cpu().unwrap_or_else(wall),
            Clock::Wall => wall(),
        }
    }

    /// The name the CPython driver takes.
    pub fn python_name(self) -> &'static str {
        match self {
            Clock::ThreadCpu => "thread_time",
            Clock::Wall => "perf_counter",
        }
    }
}

/// The wall clock, from the first reading in this process.
fn wall() -> Duration {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`).
#[cfg(unix)]
fn thread_cpu() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    ))
}

#[cfg(not(unix))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// What kind of loop a side runs, which decides its [`Budget`] (see
/// [`Mode::budget`](super::Mode::budget)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One operation per call, looped by the engine (also CPython's loop).
    Op,
    /// Whole repetitions of tasks or threads: a task or thread start-up per repetition
    /// must stay small beside it, so repetitions are longer and fewer.
    Runs,
}

/// What one repetition of a side measured.
#[derive(Debug, Clone, Default)]
pub struct Rep {
    /// Operations done (at least the count asked for, rounded as the side needs).
    pub ops: u64,
    /// Their time, by the comparison's clock (a [`runs`] side: the wall clock).
    pub elapsed: Duration,
    /// One latency per operation, in ns (for pool rows: from the call to `get` to the
    /// lease in hand). Empty when the side does not record them.
    pub latencies: Vec<u64>,
    /// Allocator calls the side counted around its measured loop alone (e.g. with
    /// [`crate::allocs::calls`]), without its set-up (spawning tasks); `None` lets the
    /// engine count the whole repetition.
    pub allocs: Option<u64>,
}

impl Rep {
    fn ns_per_op(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.ops.max(1) as f64
    }
}

/// One side of a comparison, as the engine drives it. Built with [`op`], [`runs`] or
/// [`cpython`].
pub trait Side {
    /// The kind of loop, which picks the budget.
    fn kind(&self) -> Kind;
    /// The clock this side can be timed by: [`Clock::ThreadCpu`] if everything it does runs
    /// on the calling thread without waiting, else [`Clock::Wall`]. The comparison uses the
    /// thread's CPU clock only if every side can.
    fn clock(&self) -> Clock;
    /// Gets ready before calibration, knowing the comparison's clock (a subprocess starts
    /// here); `Err` says why the side cannot run, and the comparison is skipped with that
    /// reason.
    fn start(&mut self, budget: &Budget, clock: Clock) -> Result<(), String> {
        let _ = (budget, clock);
        Ok(())
    }
    /// Whether the side chose its own count in [`start`](Side::start) (the engine then
    /// neither calibrates nor warms it up).
    fn self_calibrated(&self) -> bool {
        false
    }
    /// Runs one repetition of about `ops` operations, timed by `clock` (a side whose
    /// [`clock`](Side::clock) is the wall clock is only ever given that one).
    fn rep(&mut self, ops: u64, clock: Clock) -> Result<Rep, String>;
    /// Allocator calls per operation, from one more repetition of `ops`, untimed; `None`
    /// without the counter (feature `allocs`) or for a side that cannot be counted.
    fn allocs_per_op(&mut self, ops: u64) -> Option<f64> {
        let mut rep = Rep::default();
        let whole = allocs::count(|| rep = self.rep(ops, Clock::Wall).unwrap_or_default());
        let calls = rep.allocs.or(whole)?;
        Some(calls as f64 / rep.ops.max(1) as f64)
    }
    /// Whether the side's p99 is taken over its per-operation latencies (a side that
    /// records them) rather than over its repetitions.
    fn p99_over_latencies(&self) -> bool {
        false
    }
    /// What the row should also say about this side (`params` entries: the interpreter's
    /// version).
    fn info(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A side whose closure performs one operation on the calling thread, without waiting,
/// and returns something derived from its work; the engine loops it and times it by the
/// thread's CPU clock (when every side of the comparison allows it).
pub fn op<'a, F, R>(f: F) -> Box<dyn Side + 'a>
where
    F: FnMut() -> R + 'a,
{
    Box::new(Op {
        f,
        clock: Clock::ThreadCpu,
    })
}

// Used by the benches whose operation waits on a server (the database benches).
#[cfg_attr(not(test), allow(dead_code))]
/// [`op`] for an operation that waits — I/O to a server or a disk, work done by other
/// threads — which the thread's CPU clock would not see: the comparison is timed by the
/// wall clock.
pub fn op_waiting<'a, F, R>(f: F) -> Box<dyn Side + 'a>
where
    F: FnMut() -> R + 'a,
{
    Box::new(Op {
        f,
        clock: Clock::Wall,
    })
}

/// A side that runs a whole repetition of about `ops` operations itself (tasks on a
/// runtime, threads) and times it, returning a [`Rep`].
pub fn runs<'a, F>(f: F) -> Box<dyn Side + 'a>
where
    F: FnMut(u64) -> Rep + 'a,
{
    Box::new(Runs(f))
}

/// A [`runs`] side that also reports figures of its own in each row it is part of
/// (`params`): `info` is read once the comparison is measured (errors it counted over the
/// comparison, say). tenure's side names its keys as they should appear; a peer's side
/// prefixes its own (`peer_…`), since both sides' figures land in the same row.
pub fn runs_reporting<'a, F, I>(f: F, info: I) -> Box<dyn Side + 'a>
where
    F: FnMut(u64) -> Rep + 'a,
    I: Fn() -> Vec<(&'static str, String)> + 'a,
{
    Box::new(Reporting(Runs(f), info))
}

/// CPython running `snippet` (the same operation) in a `python3` subprocess, timed inside
/// Python. Without `python3`, the comparison is skipped with the reason on stderr.
pub fn cpython(snippet: &Snippet) -> Box<dyn Side + 'static> {
    Box::new(Cpython {
        snippet: snippet.clone(),
        peer: None,
    })
}

struct Op<F> {
    f: F,
    clock: Clock,
}

impl<F: FnMut() -> R, R> Side for Op<F> {
    fn kind(&self) -> Kind {
        Kind::Op
    }
    fn clock(&self) -> Clock {
        self.clock
    }
    fn rep(&mut self, ops: u64, clock: Clock) -> Result<Rep, String> {
        Ok(Rep {
            ops,
            elapsed: time_ops(&mut self.f, ops, clock),
            ..Rep::default()
        })
    }
    fn allocs_per_op(&mut self, ops: u64) -> Option<f64> {
        allocs::per_op(ops, &mut self.f)
    }
}

/// Runs `ops` operations and returns how long they took by `clock`: the timed loop of
/// every [`op`] side, compiled once per closure.
#[inline(never)]
fn time_ops<F: FnMut() -> R, R>(f: &mut F, ops: u64, clock: Clock) -> Duration {
    let start = clock.now();
    for _ in 0..ops {
        black_box(f());
    }
    clock.now().saturating_sub(start)
}

struct Runs<F>(F);

impl<F: FnMut(u64) -> Rep> Side for Runs<F> {
    fn kind(&self) -> Kind {
        Kind::Runs
    }
    fn clock(&self) -> Clock {
        Clock::Wall
    }
    fn rep(&mut self, ops: u64, _: Clock) -> Result<Rep, String> {
        Ok((self.0)(ops))
    }
    fn p99_over_latencies(&self) -> bool {
        true
    }
}

struct Reporting<F, I>(Runs<F>, I);

impl<F: FnMut(u64) -> Rep, I: Fn() -> Vec<(&'static str, String)>> Side for Reporting<F, I> {
    fn kind(&self) -> Kind {
        self.0.kind()
    }
    fn clock(&self) -> Clock {
        self.0.clock()
    }
    fn rep(&mut self, ops: u64, clock: Clock) -> Result<Rep, String> {
        self.0.rep(ops, clock)
    }
    fn p99_over_latencies(&self) -> bool {
        self.0.p99_over_latencies()
    }
    fn info(&self) -> Vec<(&'static str, String)> {
        (self.1)()
    }
}

struct Cpython {
    snippet: Snippet,
    peer: Option<python::Peer>,
}

impl Side for Cpython {
    fn kind(&self) -> Kind {
        Kind::Op
    }
    fn clock(&self) -> Clock {
        Clock::ThreadCpu
    }
    fn start(&mut self, budget: &Budget, clock: Clock) -> Result<(), String> {
        python::version()?;
        self.peer = Some(python::Peer::start(
            &self.snippet,
            budget.warmup,
            budget.rep,
            clock.python_name(),
        )?);
        Ok(())
    }
    fn self_calibrated(&self) -> bool {
        true
    }
    fn rep(&mut self, _ops: u64, _: Clock) -> Result<Rep, String> {
        let peer = self.peer.as_mut().ok_or("the python peer did not start")?;
        let (ops, elapsed) = peer.rep()?;
        Ok(Rep {
            ops,
            elapsed,
            ..Rep::default()
        })
    }
    fn allocs_per_op(&mut self, _ops: u64) -> Option<f64> {
        None
    }
    fn info(&self) -> Vec<(&'static str, String)> {
        python::version()
            .map(|v| vec![("python", v)])
            .unwrap_or_default()
    }
}

/// The kind that picks a comparison's budget: [`Kind::Runs`] if any side runs its own
/// loop (the longer repetitions suit every side), else [`Kind::Op`].
pub fn kind_of(sides: &[Box<dyn Side + '_>]) -> Kind {
    if sides.iter().any(|s| s.kind() == Kind::Runs) {
        Kind::Runs
    } else {
        Kind::Op
    }
}

/// The clock a comparison is timed by: the thread's CPU clock if every side allows it,
/// else the wall clock.
pub fn clock_of(sides: &[Box<dyn Side + '_>]) -> Clock {
    if sides.iter().all(|s| s.clock() == Clock::ThreadCpu) {
        Clock::ThreadCpu
    } else {
        Clock::Wall
    }
}

/// What the engine measured of one side.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Median of ns per operation over the repetitions.
    pub median_ns: f64,
    /// 99th percentile (nearest rank): over the repetitions' ns per operation, or over
    /// every operation's latency for a side that records them (`None` if it recorded
    /// none).
    pub p99_ns: Option<f64>,
    /// The largest per-operation latency, for a side that records them (`None`
    /// otherwise): the wait the p99 leaves out.
    pub max_ns: Option<f64>,
    /// Allocator calls per operation, when counted.
    pub allocs_per_op: Option<f64>,
}

/// Calibrates, warms up and measures `sides` (`count_allocs[i]`: count side `i`'s
/// allocations), `reps` interleaved rounds within `budget`. `Err`: a side could not run.
pub fn measure(
    budget: &Budget,
    reps: usize,
    sides: &mut [Box<dyn Side + '_>],
    count_allocs: &[bool],
) -> Result<Vec<Measured>, String> {
    let clock = clock_of(sides);
    for side in sides.iter_mut() {
        side.start(budget, clock)?;
    }
    let ops = calibrate(budget, clock, sides)?;
    let mut per_op: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); sides.len()];
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); sides.len()];
    for _ in 0..reps.max(1) {
        for (i, side) in sides.iter_mut().enumerate() {
            let rep = side.rep(ops[i], clock)?;
            per_op[i].push(rep.ns_per_op());
            latencies[i].extend_from_slice(&rep.latencies);
        }
    }
    Ok(sides
        .iter_mut()
        .enumerate()
        .map(|(i, side)| {
            let (median_ns, reps_p99) = median_p99(&per_op[i]);
            let (p99_ns, max_ns) = if side.p99_over_latencies() {
                let max = latencies[i].iter().max().map(|&m| m as f64);
                (p99_of(&mut latencies[i]), max)
            } else {
                (Some(reps_p99), None)
            };
            let wanted = allocs::ENABLED && count_allocs.get(i).copied().unwrap_or(false);
            Measured {
                median_ns,
                p99_ns,
                max_ns,
                allocs_per_op: if wanted {
                    side.allocs_per_op(ops[i])
                } else {
                    None
                },
            }
        })
        .collect())
}

/// Step 1 of [`measure`]: each side's operation count per repetition.
fn calibrate(
    budget: &Budget,
    clock: Clock,
    sides: &mut [Box<dyn Side + '_>],
) -> Result<Vec<u64>, String> {
    let mut ops = vec![budget.min_ops.max(1); sides.len()];
    let mut done: Vec<bool> = sides.iter().map(|s| s.self_calibrated()).collect();
    let calibrated = done.iter().filter(|d| !**d).count() as u32;
    if calibrated == 0 {
        return Ok(ops);
    }
    let start = Instant::now();
    loop {
        for (i, side) in sides.iter_mut().enumerate() {
            if side.self_calibrated() {
                continue;
            }
            let rep = side.rep(ops[i], clock)?;
            if !done[i] {
                if rep.elapsed >= budget.rep {
                    done[i] = true;
                    ops[i] = rep.ops.max(1);
                } else {
                    ops[i] = rep.ops.max(ops[i]).saturating_mul(2);
                }
            }
        }
        if done.iter().all(|d| *d) && start.elapsed() >= budget.warmup * calibrated {
            break;
        }
    }
    Ok(ops)
}

/// Runs `side` alone: one repetition of one operation (first-use set-up), then one of
/// `ops` operations inside [`profiled`], untimed in effect (for callgrind or `perf`).
pub fn profile(side: &mut dyn Side, ops: u64) -> Result<u64, String> {
    let budget = Budget {
        warmup: Duration::ZERO,
        rep: Duration::ZERO,
        reps: 1,
        min_ops: 1,
    };
    side.start(&budget, Clock::Wall)?;
    side.rep(1, Clock::Wall)?;
    profiled(side, ops)
}

/// The function to toggle instruction counting on: everything one side does for `ops`
/// operations, and nothing else. Returns the operations done.
#[inline(never)]
fn profiled(side: &mut dyn Side, ops: u64) -> Result<u64, String> {
    side.rep(ops, Clock::Wall).map(|rep| rep.ops)
}

/// The median of `samples` (the mean of the middle two for an even count), as the rows
/// report it.
pub fn median(samples: &[f64]) -> f64 {
    median_p99(samples).0
}

/// The median and the 99th percentile (nearest rank) of `samples`.
fn median_p99(samples: &[f64]) -> (f64, f64) {
    assert!(!samples.is_empty(), "a comparison produced no samples");
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    let rank = ((0.99 * n as f64).ceil() as usize).clamp(1, n);
    (median, s[rank - 1])
}

/// The 99th percentile (nearest rank) of `samples`, in ns; `None` when there are none.
fn p99_of(samples: &mut [u64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len();
    let rank = ((0.99 * n as f64).ceil() as usize).clamp(1, n);
    let (_, p99, _) = samples.select_nth_unstable(rank - 1);
    Some(*p99 as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_p99(&s), (50.5, 99.0));
        assert_eq!(median_p99(&[3.0]), (3.0, 3.0));
        assert_eq!(p99_of(&mut (1..=100).collect::<Vec<u64>>()), Some(99.0));
        assert_eq!(p99_of(&mut []), None);
    }

    /// A side whose repetition of `ops` lasts `ops` × `ns` (simulated): what calibration
    /// asked of it is recorded.
    struct Fake {
        ns: u64,
        asked: Vec<u64>,
    }

    impl Side for Fake {
        fn kind(&self) -> Kind {
            Kind::Op
        }
        fn clock(&self) -> Clock {
            Clock::ThreadCpu
        }
        fn rep(&mut self, ops: u64, _: Clock) -> Result<Rep, String> {
            self.asked.push(ops);
            Ok(Rep {
                ops,
                elapsed: Duration::from_nanos(ops * self.ns),
                ..Rep::default()
            })
        }
    }

    #[test]
    fn calibration_doubles_each_side_until_a_repetition_lasts_the_budget() {
        let budget = Budget {
            warmup: Duration::ZERO,
            rep: Duration::from_micros(10),
            reps: 3,
            min_ops: 1,
        };
        // 1 µs per op: 16 ops is the first count that lasts 10 µs; 100 ns: 128.
        let mut sides: Vec<Box<dyn Side>> = vec![
            Box::new(Fake {
                ns: 1_000,
                asked: Vec::new(),
            }),
            Box::new(Fake {
                ns: 100,
                asked: Vec::new(),
            }),
        ];
        assert_eq!(
            calibrate(&budget, Clock::ThreadCpu, &mut sides).unwrap(),
            [16, 128]
        );
        let m = measure(&budget, 3, &mut sides, &[false, false]).unwrap();
        assert_eq!(m[0].median_ns, 1_000.0);
        assert_eq!(m[1].median_ns, 100.0);
        assert_eq!(m[0].p99_ns, Some(1_000.0));
    }

    #[test]
    fn a_failing_side_fails_the_measure_with_its_reason() {
        struct Broken;
        impl Side for Broken {
            fn kind(&self) -> Kind {
                Kind::Op
            }
            fn clock(&self) -> Clock {
                Clock::ThreadCpu
            }
            fn rep(&mut self, _: u64, _: Clock) -> Result<Rep, String> {
                Err("the peer exited".into())
            }
        }
        let budget = Budget {
            warmup: Duration::ZERO,
            rep: Duration::ZERO,
            reps: 1,
            min_ops: 1,
        };
        let mut sides: Vec<Box<dyn Side>> = vec![op(|| 1), Box::new(Broken)];
        let err = measure(&budget, 1, &mut sides, &[false, false]).unwrap_err();
        assert_eq!(err, "the peer exited");
    }

    #[test]
    fn a_comparison_is_timed_by_the_thread_cpu_clock_only_if_every_side_allows_it() {
        let cpu: Vec<Box<dyn Side>> = vec![op(|| 1), op(|| 2)];
        assert_eq!(clock_of(&cpu), Clock::ThreadCpu);
        let waiting: Vec<Box<dyn Side>> = vec![op(|| 1), op_waiting(|| 2)];
        assert_eq!(clock_of(&waiting), Clock::Wall);
        let pool: Vec<Box<dyn Side>> = vec![
            op(|| 1),
            runs(|ops| Rep {
                ops,
                ..Rep::default()
            }),
        ];
        assert_eq!(clock_of(&pool), Clock::Wall);
        assert_eq!(
            clock_of(&[
                op(|| 1),
                cpython(&crate::python::Snippet {
                    setup: String::new(),
                    op: "pass".into(),
                })
            ]),
            Clock::ThreadCpu
        );
    }

    #[test]
    fn the_thread_cpu_clock_does_not_count_sleep() {
        let (cpu, wall) = (Clock::ThreadCpu.now(), Clock::Wall.now());
        std::thread::sleep(Duration::from_millis(30));
        let slept = Clock::Wall.now() - wall;
        assert!(slept >= Duration::from_millis(30), "{slept:?}");
        if cfg!(unix) {
            // Sleeping spends (almost) no CPU; a busy loop does.
            assert!(Clock::ThreadCpu.now() - cpu < Duration::from_millis(15));
            let busy = Clock::ThreadCpu.now();
            let mut x = 0_u64;
            while Clock::ThreadCpu.now() - busy < Duration::from_millis(5) {
                x = black_box(x + 1);
            }
            assert!(x > 0);
        }
    }

    #[test]
    fn profile_runs_one_side_for_the_count_asked() {
        let mut calls = 0_u64;
        let mut side = op(|| calls += 1);
        assert_eq!(profile(side.as_mut(), 50).unwrap(), 50);
        drop(side);
        // One first-use operation, then the 50 profiled.
        assert_eq!(calls, 51);
    }
}
