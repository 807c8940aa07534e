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

impl Mode {
    /// The budget of [`Harness::compare_runs`]: its sides run whole repetitions of many
    /// tasks or threads, so repetitions are longer (a task or thread start-up per
    /// repetition stays small beside them) and fewer.
    fn run_budget(self) -> Budget {
        match self {
            Mode::Full => Budget {
                warmup: Duration::from_millis(400),
                rep: Duration::from_millis(20),
                reps: 101,
                min_ops: 1,
            },
            Mode::Quick => Budget {
                warmup: Duration::from_millis(100),
                rep: Duration::from_millis(10),
                reps: 21,
                min_ops: 1,
            },
            Mode::Smoke => Budget {
                warmup: Duration::ZERO,
                rep: Duration::ZERO,
                reps: 1,
                min_ops: 1,
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
    p99_target: Option<f64>,
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
            p99_target: None,
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

    /// The largest `p99_ns / peer_p99_ns` this comparison should show (e.g. 1.1: tenure's
    /// p99 at most 1.1 × the peer's). Also recorded in `params` as `p99_target`, and
    /// checked in the table beside the ratio's target.
    pub fn p99_target(mut self, max: f64) -> Self {
        self.p99_target = Some(max);
        self.params
            .insert("p99_target".to_string(), Value::from(max));
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
    /// The largest `p99_ns / peer_p99_ns` wanted ([`Case::p99_target`]); in the JSON line
    /// it is `params.p99_target`.
    #[serde(skip)]
    pub p99_target: Option<f64>,
}

impl Row {
    /// Whether the ratio reaches the target (`None` without a target).
    pub fn passes(&self) -> Option<bool> {
        self.target.map(|t| self.ratio >= t)
    }

    /// `p99_ns / peer_p99_ns`, when both are known.
    pub fn p99_ratio(&self) -> Option<f64> {
        match (self.p99_ns, self.peer_p99_ns) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// Whether tenure's p99 is within the p99 target (`None` without one, or without both
    /// p99s).
    pub fn passes_p99(&self) -> Option<bool> {
        let max = self.p99_target?;
        self.p99_ratio().map(|r| r <= max)
    }
}

/// What one repetition of a side of [`Harness::compare_runs`] measured: a side that drives
/// its own loop (tasks on a runtime, threads) and times itself.
#[derive(Debug, Clone, Default)]
pub struct Rep {
    /// Operations done (at least the count asked for, rounded as the side needs).
    pub ops: u64,
    /// Wall time of all of them.
    pub elapsed: Duration,
    /// One latency per operation, in ns (for pool rows: from the call to `get` to the
    /// lease in hand). Empty when the side does not record them; the row then has no p99.
    pub latencies: Vec<u64>,
    /// Allocator calls the side counted around its measured loop alone (e.g. with
    /// [`crate::allocs::calls`]), without its set-up (spawning tasks); `None` lets the
    /// harness count the whole repetition.
    pub allocs: Option<u64>,
}

impl Rep {
    fn ns_per_op(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.ops.max(1) as f64
    }
}

/// A side of [`Harness::compare_runs`]: runs one repetition of about `ops` operations.
pub type RunSide<'a> = &'a mut dyn FnMut(u64) -> Rep;

/// A result that is mostly counts, not one timing (a pool scenario), reported beside the
/// table: in a table run, one `scenario name: k=v, …` line; with `--json`, a line of the
/// contract's shape — `bench` (`pool/scenario=cancel_storm`), `peer`, `tenure_ns` /
/// `peer_ns` (the scenario's headline time, named in `params.headline`), `ratio` (peer /
/// tenure) — with every count in `params`.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// The scenario's name (`pool/scenario=cancel_storm`); the filter applies to it.
    pub bench: String,
    /// The peer it is compared with.
    pub peer: String,
    /// tenure's headline time, ns.
    pub tenure_ns: f64,
    /// The peer's headline time, ns.
    pub peer_ns: f64,
    /// `peer_ns / tenure_ns`.
    pub ratio: f64,
    /// What the headline time is, and every count.
    pub params: Map<String, Value>,
}

/// Runs comparisons and collects their [`Row`]s, printing each as it is produced.
#[derive(Debug)]
pub struct Harness {
    mode: Mode,
    output: Output,
    filter: Option<String>,
    rows: Vec<Row>,
    scenarios: Vec<Scenario>,
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
            scenarios: Vec::new(),
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

    /// Whether the filter lets `case` run (list mode included): a module checks this before
    /// costly set-up (building pools) for rows that would be skipped.
    pub fn would_run(&self, case: &Case) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| case.name().contains(f.as_str()))
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
        self.push_row(
            case,
            (tenure_ns, Some(p99_ns)),
            (peer_ns, Some(peer_p99_ns)),
            allocs_a,
            allocs_b,
        );
    }

    /// Records a row from each side's median and p99 (ns).
    fn push_row(
        &mut self,
        case: Case,
        (tenure_ns, p99_ns): (f64, Option<f64>),
        (peer_ns, peer_p99_ns): (f64, Option<f64>),
        allocs_a: Option<f64>,
        allocs_b: Option<f64>,
    ) {
        let row = Row {
            bench: case.name(),
            peer: case.peer.to_string(),
            tenure_ns: round3(tenure_ns),
            peer_ns: round3(peer_ns),
            ratio: round3(peer_ns / tenure_ns),
            p99_ns: p99_ns.map(round3),
            peer_p99_ns: peer_p99_ns.map(round3),
            params: case.params,
            target: case.target,
            allocs_per_op: allocs_a.map(round3),
            peer_allocs_per_op: allocs_b.map(round3),
            p99_target: case.p99_target,
        };
        self.print(&row);
        self.rows.push(row);
    }

    /// Times `tenure` against one or more peers whose sides drive their own loops (tasks
    /// on a runtime, threads) and time themselves, returning a [`Rep`] each: the pool rows.
    /// `peers[i]` pairs a side with the [`Case`] of its row; every side runs in the same
    /// interleaved rounds (A B C A B C …) after a warm-up that calibrates each side's
    /// operation count to the mode's repetition time (at most `max_reps` of any case caps
    /// the rounds). Each row reports the medians of ns per operation over the repetitions
    /// and, when the sides record per-operation latencies, `p99_ns` / `peer_p99_ns`: the
    /// 99th percentile (nearest rank) over **every operation** of every timed repetition.
    /// A case marked [`Case::allocs`] also gets `allocs_per_op` from one more untimed
    /// repetition of each side.
    pub fn compare_runs(&mut self, tenure: RunSide<'_>, peers: Vec<(Case, RunSide<'_>)>) {
        let peers: Vec<(Case, RunSide<'_>)> = peers
            .into_iter()
            .filter(|(c, _)| self.selected(c))
            .collect();
        if peers.is_empty() {
            return;
        }
        let budget = self.mode.run_budget();
        let reps = peers
            .iter()
            .filter_map(|(c, _)| c.max_reps)
            .fold(budget.reps, usize::min);
        let mut sides: Vec<RunSide<'_>> = Vec::with_capacity(peers.len() + 1);
        let mut cases = Vec::with_capacity(peers.len());
        sides.push(tenure);
        for (c, side) in peers {
            cases.push(c);
            sides.push(side);
        }
        // Warm-up and calibration: double each side's count until a repetition lasts
        // `budget.rep`, for at least `budget.warmup` per side in all.
        let mut ops = vec![1_u64; sides.len()];
        let mut done = vec![false; sides.len()];
        let start = Instant::now();
        loop {
            for (i, side) in sides.iter_mut().enumerate() {
                let rep = side(ops[i]);
                if !done[i] {
                    if rep.elapsed >= budget.rep {
                        done[i] = true;
                        ops[i] = rep.ops.max(1);
                    } else {
                        ops[i] = rep.ops.max(ops[i]).saturating_mul(2);
                    }
                }
            }
            let all_done = done.iter().all(|d| *d);
            if all_done && start.elapsed() >= budget.warmup * sides.len() as u32 {
                break;
            }
        }
        let mut per_op: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); sides.len()];
        let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); sides.len()];
        for _ in 0..reps {
            for (i, side) in sides.iter_mut().enumerate() {
                let rep = side(ops[i]);
                per_op[i].push(rep.ns_per_op());
                latencies[i].extend_from_slice(&rep.latencies);
            }
        }
        let counted: Vec<Option<f64>> = sides
            .iter_mut()
            .enumerate()
            .map(|(i, side)| {
                let wanted =
                    i == 0 && cases.iter().any(|c| c.allocs) || i > 0 && cases[i - 1].allocs;
                if !(allocs::ENABLED && wanted) {
                    return None;
                }
                let mut rep = Rep::default();
                let whole = allocs::count(|| rep = side(ops[i]));
                let calls = rep.allocs.or(whole)?;
                Some(calls as f64 / rep.ops.max(1) as f64)
            })
            .collect();
        let summary = |i: usize| -> (f64, Option<f64>) {
            let (median, _) = median_p99(&per_op[i]);
            (median, p99_of(&mut latencies[i].clone()))
        };
        let tenure_summary = summary(0);
        let peer_summaries: Vec<_> = (1..sides.len()).map(summary).collect();
        drop(sides);
        for (i, case) in cases.into_iter().enumerate() {
            let allocs_b = counted[i + 1];
            self.push_row(
                case,
                tenure_summary,
                peer_summaries[i],
                counted[0],
                allocs_b,
            );
        }
    }

    /// Reports a [`Scenario`] (counts, not timings) beside the table, unless the filter
    /// leaves `name` out. `fields` is a list of `(key, value)`.
    pub fn scenario(
        &mut self,
        name: &str,
        peer: &str,
        headline: (&str, f64, f64),
        fields: Vec<(&str, Value)>,
    ) {
        if !self.scenario_selected(name) {
            return;
        }
        let (what, tenure_ns, peer_ns) = headline;
        let mut fields = fields;
        fields.insert(0, ("headline", Value::from(what)));
        // The table keeps the module's order; the JSON object is a map.
        let figures: Vec<String> = fields
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                v => format!("{k}={v}"),
            })
            .collect();
        let scenario = Scenario {
            bench: name.to_string(),
            peer: peer.to_string(),
            tenure_ns,
            peer_ns,
            ratio: if tenure_ns > 0.0 {
                peer_ns / tenure_ns
            } else {
                0.0
            },
            params: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        };
        let mut out = std::io::stdout().lock();
        let _ = match self.output {
            Output::Json => serde_json::to_writer(&mut out, &scenario)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            Output::Table => writeln!(
                out,
                "scenario {} vs {}: {}",
                scenario.bench,
                scenario.peer,
                figures.join(", ")
            ),
            Output::Silent | Output::List => Ok(()),
        };
        let _ = out.flush();
        self.scenarios.push(scenario);
    }

    /// Whether a scenario named `name` should run (the filter); in list mode, records its
    /// name instead. Scenario code calls this before doing its (long) work.
    pub fn scenario_selected(&self, name: &str) -> bool {
        if let Some(f) = &self.filter {
            if !name.contains(f.as_str()) {
                return false;
            }
        }
        if self.output == Output::List {
            say(format_args!("{name:<40} (scenario)"));
            return false;
        }
        true
    }

    /// The scenarios reported so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The measuring mode.
    pub fn mode(&self) -> Mode {
        self.mode
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
            if self.scenarios.is_empty() {
                say(format_args!("no bench matched"));
            }
            return;
        }
        let missed: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.passes() == Some(false) || r.passes_p99() == Some(false))
            .collect();
        say(format_args!(
            "\n{} rows; ratio = peer time / tenure time (>1: tenure faster); {} below target{}",
            self.rows.len(),
            missed.len(),
            if missed.is_empty() { "" } else { ":" }
        ));
        for r in missed {
            if r.passes() == Some(false) {
                say(format_args!(
                    "  {} vs {}: {:.3} < {}",
                    r.bench,
                    r.peer,
                    r.ratio,
                    r.target.unwrap_or(0.0)
                ));
            }
            if let (Some(false), Some(x)) = (r.passes_p99(), r.p99_ratio()) {
                say(format_args!(
                    "  {} vs {}: p99 {:.2}x the peer's > {}",
                    r.bench,
                    r.peer,
                    x,
                    r.p99_target.unwrap_or(0.0)
                ));
            }
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

/// [`Ns`], or `—` when there is no figure (a pool row without latencies).
struct OptNs(Option<f64>);

impl Display for OptNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ns) => Ns(ns).fmt(f),
            None => f.pad("—"),
        }
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
            OptNs(r.p99_ns),
            Ns(r.peer_ns),
            OptNs(r.peer_p99_ns),
            r.ratio,
        )?;
        if allocs::ENABLED {
            let (a, b) = (Allocs(r.allocs_per_op), Allocs(r.peer_allocs_per_op));
            write!(f, "{target:<11} {a:>8} {b:>8}")?;
        } else {
            write!(f, "{target:<11}")?;
        }
        // A p99 target (pool rows): tenure's p99 / the peer's, against the largest wanted.
        match (r.p99_target, r.p99_ratio(), r.passes_p99()) {
            (Some(t), Some(x), Some(true)) => write!(f, "  p99 {x:.2}x ≤{t} pass"),
            (Some(t), Some(x), _) => write!(f, "  p99 {x:.2}x ≤{t} MISS"),
            (Some(t), None, _) => write!(f, "  p99 ≤{t} (no p99)"),
            (None, ..) => Ok(()),
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
    fn runs_report_latency_p99_over_every_operation() {
        let mut h = Harness::smoke();
        let side = |scale: u64| {
            move |ops: u64| Rep {
                ops: ops * 100,
                elapsed: Duration::from_nanos(ops * 100 * scale),
                latencies: (1..=100).map(|x| x * scale).collect(),
                allocs: Some(0),
            }
        };
        let (mut a, mut b) = (side(1), side(3));
        let case = Case::new("pool", "deadpool")
            .param("tasks", 4)
            .p99_target(1.1);
        h.compare_runs(&mut a, vec![(case, &mut b)]);
        let r = &h.rows()[0];
        assert_eq!(r.bench, "pool/tasks=4");
        assert_eq!((r.tenure_ns, r.peer_ns, r.ratio), (1.0, 3.0, 3.0));
        assert_eq!((r.p99_ns, r.peer_p99_ns), (Some(99.0), Some(297.0)));
        assert_eq!(r.passes_p99(), Some(true));
        assert_eq!(r.params["p99_target"], Value::from(1.1));
        // A side without latencies has no p99.
        let mut c = |ops: u64| Rep {
            ops,
            elapsed: Duration::from_nanos(ops),
            ..Rep::default()
        };
        h.compare_runs(&mut c, vec![(Case::new("pool", "bb8"), &mut b)]);
        assert_eq!(h.rows()[1].p99_ns, None);
        assert!(!serde_json::to_string(&h.rows()[1])
            .unwrap()
            .contains("\"p99_ns\""));
    }

    #[test]
    fn scenarios_are_lines_of_their_own() {
        let mut h = Harness::smoke();
        h.scenario(
            "pool/scenario=x",
            "deadpool",
            ("fresh get", 2.0, 4.0),
            vec![("violations", Value::from(0))],
        );
        let line = serde_json::to_string(&h.scenarios()[0]).unwrap();
        assert_eq!(
            line,
            r#"{"bench":"pool/scenario=x","peer":"deadpool","tenure_ns":2.0,"peer_ns":4.0,"ratio":2.0,"params":{"headline":"fresh get","violations":0}}"#
        );
        let h = Harness::new(Mode::Smoke, Output::Silent, Some("stack".into()));
        assert!(!h.scenario_selected("pool/scenario=x"));
    }

    #[test]
    fn filter_skips_other_benches() {
        let mut h = Harness::new(Mode::Smoke, Output::Silent, Some("stack".into()));
        h.compare(Case::new("guard", "scopeguard"), || 1, || 2);
        assert!(h.rows().is_empty());
    }
}
