//! Interleaved A/B timing, the [`Row`] every comparison produces, and table / JSON output.
//!
//! The protocol is `shared/BENCHMARKS.md`: tenure and its peer run in the same process and
//! the same run, after a warm-up, alternating repetitions A B A B …; each side reports the
//! median of its repetitions (ns per operation) and their 99th percentile. Only the ratio
//! `peer_ns / tenure_ns` is meant to be compared across runs (above 1: tenure is faster).
//!
//! A bench module describes a comparison with a [`Case`] and hands two closures to
//! [`Harness::compare`] (or a closure and a CPython snippet to
//! [`Harness::compare_cpython`]). Each closure performs **one operation** and returns
//! something derived from its work; the harness calls it in a calibrated loop and passes
//! every result through [`std::hint::black_box`], so the optimiser cannot delete the work.
//!
//! In a build with the counting allocator (feature `allocs`, see [`crate::allocs`] for why
//! it is off by default), a case marked [`allocs`](Case::allocs) also reports
//! `allocs_per_op`: after the timed repetitions, each side's loop runs once more, untimed,
//! counted ([`crate::allocs::per_op`]).

use std::fmt::{self, Display};
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::allocs;
use crate::python::{self, Snippet};

/// How thoroughly to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The default: long warm-up, many repetitions (a few seconds per comparison).
    Full,
    /// `--quick`: the whole set in about a minute on two cores.
    Quick,
    /// For tests: one repetition of a handful of operations, sizes scaled down. The
    /// numbers mean nothing; only that rows come out.
    Smoke,
}

/// Timing budget of one [`Mode`].
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Warm-up time per side, spent alternating A and B.
    warmup: Duration,
    /// Target duration of one repetition; the operation count per repetition is
    /// calibrated during warm-up to reach it.
    rep: Duration,
    /// Repetitions per side.
    reps: usize,
    /// Smallest operation count per repetition.
    min_ops: u64,
}

impl Mode {
    fn budget(self) -> Budget {
        match self {
            Mode::Full => Budget {
                warmup: Duration::from_millis(500),
                rep: Duration::from_millis(5),
                reps: 401,
                min_ops: 1,
            },
            Mode::Quick => Budget {
                warmup: Duration::from_millis(200),
                rep: Duration::from_millis(2),
                reps: 201,
                min_ops: 1,
            },
            Mode::Smoke => Budget {
                warmup: Duration::ZERO,
                rep: Duration::ZERO,
                reps: 1,
                min_ops: 16,
            },
        }
    }
}

/// Where finished rows go as they are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An aligned, human-readable table on stdout.
    Table,
    /// One JSON object per line on stdout (the contract in `shared/BENCHMARKS.md`).
    Json,
    /// Nowhere: rows are only collected (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Silent,
    /// List the bench names instead of measuring (`--list`).
    List,
}

/// One comparison to run: bench name, parameters, peer and target ratio.
///
/// ```ignore
/// Case::new("guard", "scopeguard").param("strategy", "always").target(0.95)
/// ```
#[derive(Debug, Clone)]
pub struct Case {
    prefix: &'static str,
    peer: &'static str,
    /// Parameters that are part of the bench name (`prefix/k=v,k=v`).
    named: Vec<(String, String)>,
    /// Every parameter, for the JSON `params` object.
    params: Map<String, Value>,
    target: Option<f64>,
    max_reps: Option<usize>,
    allocs: bool,
}

impl Case {
    /// A comparison of the bench `prefix` (one of the prefixes in `BENCHMARKS.md`) with
    /// `peer` (one of that prefix's peer names).
    pub fn new(prefix: &'static str, peer: &'static str) -> Self {
        Case {
            prefix,
            peer,
            named: Vec::new(),
            params: Map::new(),
            target: None,
            max_reps: None,
            allocs: false,
        }
    }

    /// A parameter that distinguishes this row: it becomes part of the bench name
    /// (`guard/strategy=always`) and of `params`.
    pub fn param(mut self, key: &str, value: impl Display) -> Self {
        let value = value.to_string();
        self.params.insert(key.to_string(), json_value(&value));
        self.named.push((key.to_string(), value));
        self
    }

    /// A parameter reported in `params` only, not in the name (sizes of the canonical
    /// configuration, the interpreter's version…).
    pub fn info(mut self, key: &str, value: impl Display) -> Self {
        self.params
            .insert(key.to_string(), json_value(&value.to_string()));
        self
    }

    /// The ratio (`peer_ns / tenure_ns`) this comparison should reach or beat.
    pub fn target(mut self, ratio: f64) -> Self {
        self.target = Some(ratio);
        self
    }

    /// Caps the repetitions per side, for operations too slow for the mode's count (the
    /// seed's O(n²) CPython pattern takes ~0.5 s per operation at 16,000 chunks); the
    /// median is then over fewer, longer repetitions.
    pub fn max_reps(mut self, reps: usize) -> Self {
        self.max_reps = Some(reps.max(1));
        self
    }

    /// Also reports allocator calls per operation (`allocs_per_op`, and the peer's in the
    /// table), counted in an untimed pass of each side's loop after the timed repetitions,
    /// when the binary has the counter (feature `allocs`, see [`crate::allocs`]); a no-op
    /// without it. CPython peers are not counted.
    pub fn allocs(mut self) -> Self {
        self.allocs = true;
        self
    }

    /// The bench name: the prefix, then `/k=v,k=v` for the named parameters.
    pub fn name(&self) -> String {
        if self.named.is_empty() {
            return self.prefix.to_string();
        }
        let params: Vec<String> = self.named.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}/{}", self.prefix, params.join(","))
    }
}

/// Numbers stay numbers in JSON; everything else is a string.
fn json_value(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        Value::from(i)
    } else if let Ok(b) = s.parse::<bool>() {
        Value::from(b)
    } else {
        Value::from(s)
    }
}

/// One result line: a bench, a peer, both medians (ns per op) and the ratio. Serialises to
/// exactly the JSON line of `shared/BENCHMARKS.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Bench name: prefix, then `/params` for variants.
    pub bench: String,
    /// Peer name, exactly as listed in `BENCHMARKS.md`.
    pub peer: String,
    /// tenure's median, in ns per operation.
    pub tenure_ns: f64,
    /// The peer's median, in ns per operation.
    pub peer_ns: f64,
    /// `peer_ns / tenure_ns`: above 1 means tenure is faster.
    pub ratio: f64,
    /// tenure's 99th percentile across repetitions, in ns per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<f64>,
    /// The peer's 99th percentile across repetitions, in ns per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_p99_ns: Option<f64>,
    /// Every parameter of the comparison, named or not.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// The ratio this comparison should reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// tenure's allocator calls per operation (`alloc`, `alloc_zeroed`, `realloc`), from
    /// an untimed pass; only for cases marked [`Case::allocs`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocs_per_op: Option<f64>,
    /// The peer's, counted the same way. In the table only: the JSON line of
    /// `BENCHMARKS.md` has no field for it.
    #[serde(skip)]
    pub peer_allocs_per_op: Option<f64>,
}

impl Row {
    /// Whether the ratio reaches the target (`None` without a target).
    pub fn passes(&self) -> Option<bool> {
        self.target.map(|t| self.ratio >= t)
    }
}

/// Runs comparisons and collects their [`Row`]s, printing each as it is produced.
#[derive(Debug)]
pub struct Harness {
    mode: Mode,
    output: Output,
    filter: Option<String>,
    rows: Vec<Row>,
    header_printed: bool,
}

impl Harness {
    /// A harness measuring in `mode`, printing to `output`, running only the benches whose
    /// name contains `filter` (all without one).
    pub fn new(mode: Mode, output: Output, filter: Option<String>) -> Self {
        Harness {
            mode,
            output,
            filter,
            rows: Vec::new(),
            header_printed: false,
        }
    }

    /// A silent harness in [`Mode::Smoke`], for tests.
    #[cfg(test)]
    pub fn smoke() -> Self {
        Harness::new(Mode::Smoke, Output::Silent, None)
    }

    /// Runs a bench module's `run` in [`Mode::Smoke`] and checks every row it produced:
    /// the name starts with `prefix`, the peer is one of `peers`, and both times and the
    /// ratio are positive. Returns the rows for module-specific checks. For tests.
    #[cfg(test)]
    pub fn smoke_rows(run: fn(&mut Harness), prefix: &str, peers: &[&str]) -> Vec<Row> {
        let mut h = Harness::smoke();
        run(&mut h);
        for r in h.rows() {
            assert!(r.bench.starts_with(prefix), "{}", r.bench);
            assert!(peers.contains(&r.peer.as_str()), "{}", r.peer);
            assert!(
                r.tenure_ns > 0.0 && r.peer_ns > 0.0 && r.ratio > 0.0,
                "{r:?}"
            );
        }
        h.rows
    }

    /// The rows produced so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// `n` in measuring modes; a small size in [`Mode::Smoke`] so tests stay fast. Bench
    /// modules pass their problem sizes (e.g. 1,000 callbacks) through this.
    pub fn size(&self, n: usize) -> usize {
        match self.mode {
            Mode::Smoke => n.min(8),
            _ => n,
        }
    }

    /// Whether `case` should run at all; in list mode, records its name instead.
    fn selected(&mut self, case: &Case) -> bool {
        let name = case.name();
        if let Some(f) = &self.filter {
            if !name.contains(f.as_str()) {
                return false;
            }
        }
        if self.output == Output::List {
            say(format_args!("{name:<40} {}", case.peer));
            return false;
        }
        true
    }

    /// Times `tenure` against `peer`, each closure performing one operation, interleaved
    /// A B A B … after a warm-up, and records the row.
    pub fn compare<A, RA, B, RB>(&mut self, case: Case, mut tenure: A, mut peer: B)
    where
        A: FnMut() -> RA,
        B: FnMut() -> RB,
    {
        if !self.selected(&case) {
            return;
        }
        let budget = self.mode.budget();
        let reps = case.max_reps.map_or(budget.reps, |m| m.min(budget.reps));
        let (ops_a, ops_b) = warm_up(&budget, &mut tenure, &mut peer);
        let mut a = Vec::with_capacity(reps);
        let mut b = Vec::with_capacity(reps);
        for _ in 0..reps {
            a.push(time_rep(&mut tenure, ops_a));
            b.push(time_rep(&mut peer, ops_b));
        }
        let counted = (allocs::ENABLED && case.allocs).then(|| {
            (
                allocs::per_op(ops_a, &mut tenure),
                allocs::per_op(ops_b, &mut peer),
            )
        });
        let (allocs_a, allocs_b) = counted.unwrap_or_default();
        self.record(case, &a, &b, allocs_a, allocs_b);
    }

    /// Times `tenure` against CPython running `snippet` (the same operation) in a
    /// `python3` subprocess, repetitions alternating A B A B as in
    /// [`compare`](Self::compare); Python times its own loops with `time.perf_counter` and the
    /// harness divides by the operation count it reports. Without `python3`, the row is
    /// skipped with the reason on stderr.
    pub fn compare_cpython<A, RA>(&mut self, case: Case, mut tenure: A, snippet: &Snippet)
    where
        A: FnMut() -> RA,
    {
        if !self.selected(&case) {
            return;
        }
        let name = case.name();
        let version = match python::version() {
            Ok(v) => v,
            Err(why) => {
                eprintln!("skipping {name} vs {}: {why}", case.peer);
                return;
            }
        };
        let case = case.info("python", &version);
        let budget = self.mode.budget();
        let reps = case.max_reps.map_or(budget.reps, |m| m.min(budget.reps));
        let mut py = match python::Peer::start(snippet, budget.warmup, budget.rep) {
            Ok(py) => py,
            Err(why) => {
                eprintln!("skipping {name} vs {}: {why}", case.peer);
                return;
            }
        };
        let ops_a = warm_up_one(&budget, &mut tenure);
        let mut a = Vec::with_capacity(reps);
        let mut b = Vec::with_capacity(reps);
        for _ in 0..reps {
            a.push(time_rep(&mut tenure, ops_a));
            match py.rep() {
                Ok(ns) => b.push(ns),
                Err(why) => {
                    eprintln!("skipping {name} vs {}: {why}", case.peer);
                    return;
                }
            }
        }
        let allocs_a = if allocs::ENABLED && case.allocs {
            allocs::per_op(ops_a, &mut tenure)
        } else {
            None
        };
        self.record(case, &a, &b, allocs_a, None);
    }

    fn record(
        &mut self,
        case: Case,
        a: &[f64],
        b: &[f64],
        allocs_a: Option<f64>,
        allocs_b: Option<f64>,
    ) {
        let (tenure_ns, p99_ns) = median_p99(a);
        let (peer_ns, peer_p99_ns) = median_p99(b);
        let row = Row {
            bench: case.name(),
            peer: case.peer.to_string(),
            tenure_ns: round3(tenure_ns),
            peer_ns: round3(peer_ns),
            ratio: round3(peer_ns / tenure_ns),
            p99_ns: Some(round3(p99_ns)),
            peer_p99_ns: Some(round3(peer_p99_ns)),
            params: case.params,
            target: case.target,
            allocs_per_op: allocs_a.map(round3),
            peer_allocs_per_op: allocs_b.map(round3),
        };
        self.print(&row);
        self.rows.push(row);
    }

    fn print(&mut self, row: &Row) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not worth a panic.
        let _ = match self.output {
            Output::Json => serde_json::to_writer(&mut out, row)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            Output::Table => {
                if !self.header_printed {
                    self.header_printed = true;
                    let _ = writeln!(out, "{}", TableHeader);
                }
                writeln!(out, "{}", TableRow(row))
            }
            Output::Silent | Output::List => Ok(()),
        };
        let _ = out.flush();
    }

    /// Prints the closing summary of a table run (how many rows missed their target).
    pub fn finish(&self) {
        if self.output != Output::Table {
            return;
        }
        if self.rows().is_empty() {
            say(format_args!("no bench matched"));
            return;
        }
        let missed: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.passes() == Some(false))
            .collect();
        say(format_args!(
            "\n{} rows; ratio = peer time / tenure time (>1: tenure faster); {} below target{}",
            self.rows.len(),
            missed.len(),
            if missed.is_empty() { "" } else { ":" }
        ));
        for r in missed {
            say(format_args!(
                "  {} vs {}: {:.3} < {}",
                r.bench,
                r.peer,
                r.ratio,
                r.target.unwrap_or(0.0)
            ));
        }
        if self.mode == Mode::Smoke {
            say(format_args!(
                "(--smoke: one tiny repetition; the numbers mean nothing)"
            ));
        }
    }
}

/// Prints a line on stdout; a closed pipe (`| head`) is not worth a panic.
fn say(line: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

/// Doubles the operation count of a repetition until one lasts the budget's `rep`.
struct Calibration {
    ops: u64,
    done: bool,
}

impl Calibration {
    fn new(budget: &Budget) -> Self {
        Calibration {
            ops: budget.min_ops,
            done: false,
        }
    }

    /// Runs one warm-up repetition of `f`, doubling the count while it is too short.
    fn step<F: FnMut() -> R, R>(&mut self, budget: &Budget, f: &mut F) {
        let t = time_total(f, self.ops);
        if !self.done {
            if t >= budget.rep {
                self.done = true;
            } else {
                self.ops *= 2;
            }
        }
    }
}

/// Alternates A and B for the warm-up time (per side), calibrating how many operations
/// one repetition of each needs to last `budget.rep`.
fn warm_up<A, RA, B, RB>(budget: &Budget, a: &mut A, b: &mut B) -> (u64, u64)
where
    A: FnMut() -> RA,
    B: FnMut() -> RB,
{
    let (mut ca, mut cb) = (Calibration::new(budget), Calibration::new(budget));
    let start = Instant::now();
    loop {
        ca.step(budget, a);
        cb.step(budget, b);
        if ca.done && cb.done && start.elapsed() >= budget.warmup * 2 {
            return (ca.ops, cb.ops);
        }
    }
}

/// [`warm_up`] for one side (the other side warms up in its own process).
fn warm_up_one<A: FnMut() -> RA, RA>(budget: &Budget, a: &mut A) -> u64 {
    let mut ca = Calibration::new(budget);
    let start = Instant::now();
    loop {
        ca.step(budget, a);
        if ca.done && start.elapsed() >= budget.warmup {
            return ca.ops;
        }
    }
}

/// Runs `ops` operations and returns how long they took.
#[inline(never)]
fn time_total<F: FnMut() -> R, R>(f: &mut F, ops: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..ops {
        black_box(f());
    }
    start.elapsed()
}

/// One repetition: ns per operation over `ops` operations.
fn time_rep<F: FnMut() -> R, R>(f: &mut F, ops: u64) -> f64 {
    time_total(f, ops).as_nanos() as f64 / ops as f64
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

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Nanoseconds with a unit that keeps three or four significant digits.
struct Ns(f64);

impl Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let s = if ns < 10.0 {
            format!("{ns:.2} ns")
        } else if ns < 1_000.0 {
            format!("{ns:.1} ns")
        } else if ns < 1_000_000.0 {
            format!("{:.2} µs", ns / 1e3)
        } else {
            format!("{:.2} ms", ns / 1e6)
        };
        f.pad(&s)
    }
}

/// Allocator calls per operation for the table: whole numbers as such, blank if uncounted.
struct Allocs(Option<f64>);

impl Display for Allocs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.pad(""),
            Some(n) if n.fract() == 0.0 => f.pad(&format!("{n:.0}")),
            Some(n) => f.pad(&format!("{n:.2}")),
        }
    }
}

struct TableHeader;

impl Display for TableHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<40} {:<15} {:>10} {:>10} {:>10} {:>10} {:>8}  ",
            "bench", "peer", "tenure", "p99", "peer", "peer p99", "ratio"
        )?;
        // The allocation columns only in a build that counts (feature `allocs`).
        if allocs::ENABLED {
            write!(f, "{:<11} {:>8} {:>8}", "target", "allocs", "peer al.")
        } else {
            write!(f, "{:<6}", "target")
        }
    }
}

struct TableRow<'r>(&'r Row);

impl Display for TableRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let target = match (r.target, r.passes()) {
            (Some(t), Some(true)) => format!("≥{t:<5} pass"),
            (Some(t), _) => format!("≥{t:<5} MISS"),
            (None, _) => String::new(),
        };
        write!(
            f,
            "{:<40} {:<15} {:>10} {:>10} {:>10} {:>10} {:>7.3}x  ",
            r.bench,
            r.peer,
            Ns(r.tenure_ns),
            Ns(r.p99_ns.unwrap_or(f64::NAN)),
            Ns(r.peer_ns),
            Ns(r.peer_p99_ns.unwrap_or(f64::NAN)),
            r.ratio,
        )?;
        if allocs::ENABLED {
            let (a, b) = (Allocs(r.allocs_per_op), Allocs(r.peer_allocs_per_op));
            write!(f, "{target:<11} {a:>8} {b:>8}")
        } else {
            write!(f, "{target}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_named_params_only() {
        let c = Case::new("stack", "vec_box_fnonce").info("callbacks", 1000);
        assert_eq!(c.name(), "stack");
        let c = Case::new("guard", "scopeguard")
            .param("strategy", "on_failure")
            .param("defused", true);
        assert_eq!(c.name(), "guard/strategy=on_failure,defused=true");
        assert_eq!(c.params["defused"], Value::Bool(true));
    }

    #[test]
    fn median_and_p99() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_p99(&s), (50.5, 99.0));
        assert_eq!(median_p99(&[3.0]), (3.0, 3.0));
    }

    #[test]
    fn json_line_has_the_contract_fields() {
        let mut h = Harness::smoke();
        h.compare(Case::new("guard", "scopeguard").target(0.95), || 1, || 2);
        let line = serde_json::to_string(&h.rows()[0]).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        for key in ["bench", "peer", "tenure_ns", "peer_ns", "ratio", "target"] {
            assert!(v.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(v["bench"], "guard");
    }

    #[test]
    fn allocs_are_counted_only_when_asked() {
        let mut h = Harness::smoke();
        h.compare(Case::new("guard", "scopeguard"), || 1, || 2);
        h.compare(
            Case::new("stack", "vec_box_fnonce").allocs(),
            || Box::new(1),
            || 2,
        );
        let (plain, counted) = (&h.rows()[0], &h.rows()[1]);
        assert_eq!(
            (plain.allocs_per_op, plain.peer_allocs_per_op),
            (None, None)
        );
        let line = serde_json::to_string(plain).unwrap();
        assert!(!line.contains("allocs"), "{line}");
        if cfg!(feature = "allocs") {
            // At least the one box per op; other tests allocating meanwhile can add more.
            assert!(counted.allocs_per_op.unwrap() >= 1.0, "{counted:?}");
            assert!(counted.peer_allocs_per_op.is_some());
            let line = serde_json::to_string(counted).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert!(v["allocs_per_op"].as_f64().is_some(), "{line}");
            assert!(v.get("peer_allocs_per_op").is_none(), "{line}");
        }
    }

    #[test]
    fn filter_skips_other_benches() {
        let mut h = Harness::new(Mode::Smoke, Output::Silent, Some("stack".into()));
        h.compare(Case::new("guard", "scopeguard"), || 1, || 2);
        assert!(h.rows().is_empty());
    }
}
