//! The harness every bench module reports through: which comparisons run (the filter,
//! `--list`), the one measuring engine ([`engine`]) they all go through, and the rows and
//! scenarios they produce ([`report`]), printed as a table or as JSON lines.
//!
//! The protocol is `docs/BENCHMARKS.md`: tenure and its peers run in the same process and
//! the same run, after a warm-up, alternating repetitions A B A B …; each side reports the
//! median of its repetitions (ns per operation) and a 99th percentile. Only the ratio
//! `peer_ns / tenure_ns` is meant to be compared across runs (above 1: tenure is faster).
//!
//! A bench module describes each row with a [`Case`] and hands its sides to
//! [`Harness::compare`]: tenure's side and, for each peer, the peer's `Case` and side. A
//! side is [`op`] (a closure doing **one operation**, looped by the engine, every result
//! through [`std::hint::black_box`] so the optimiser cannot delete the work),
//! [`op_waiting`] (the same for an operation that waits on something), [`runs`] (a
//! closure that runs and times a whole repetition of tasks or threads itself) or
//! [`cpython`] (the same operation in a `python3` subprocess). A comparison is timed by the
//! thread's CPU clock when every side allows it, else by the wall clock (see [`engine`]).
//!
//! In a build with the counting allocator (feature `allocs`, see [`crate::allocs`] for why
//! it is off by default), a case marked [`allocs`](Case::allocs) also reports
//! `allocs_per_op`: after the timed repetitions, each side's loop runs once more, untimed,
//! counted.
//!
//! With `--profile SIDE` nothing is timed: each selected comparison runs only `SIDE`
//! (`tenure` or a peer's name) for `--ops N` operations inside one function, for
//! `valgrind --tool=callgrind` ([`engine::profile`]).

mod engine;
mod report;

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

// `op_waiting` is for benches whose operation waits on a server (the database benches).
#[allow(unused_imports)]
pub use engine::op_waiting;
pub use engine::{cpython, median, op, runs, runs_reporting, Budget, Clock, Kind, Rep, Side};
pub use report::{round3, Case, Row, Scenario};
use report::{TableHeader, TableRow};

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

impl Mode {
    /// The timing budget of a comparison whose sides are of `kind`: [`Kind::Runs`] sides
    /// run whole repetitions of many tasks or threads, so their repetitions are longer (a
    /// task or thread start-up per repetition stays small beside them) and fewer.
    pub fn budget(self, kind: Kind) -> Budget {
        let ms = Duration::from_millis;
        let (warmup, rep, reps, min_ops) = match (self, kind) {
            (Mode::Full, Kind::Op) => (ms(500), ms(5), 401, 1),
            (Mode::Quick, Kind::Op) => (ms(200), ms(2), 201, 1),
            (Mode::Smoke, Kind::Op) => (Duration::ZERO, Duration::ZERO, 1, 16),
            (Mode::Full, Kind::Runs) => (ms(400), ms(20), 101, 1),
            (Mode::Quick, Kind::Runs) => (ms(100), ms(10), 21, 1),
            (Mode::Smoke, Kind::Runs) => (Duration::ZERO, Duration::ZERO, 1, 1),
        };
        Budget {
            warmup,
            rep,
            reps,
            min_ops,
        }
    }
}

/// Where finished rows go as they are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An aligned, human-readable table on stdout.
    Table,
    /// One JSON object per line on stdout (the contract in `docs/BENCHMARKS.md`).
    Json,
    /// Nowhere: rows are only collected (tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Silent,
    /// List the bench names instead of measuring (`--list`).
    List,
}

/// `--profile SIDE --ops N`: run one side of each selected comparison, untimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `tenure`, or a peer's name as in the rows; `tenure:PEER` for tenure's side of the
    /// comparisons against `PEER` only (a bench name can have rows against two peers).
    pub side: String,
    /// Operations to run inside the profiled function.
    pub ops: u64,
}

/// Runs comparisons and collects their [`Row`]s, printing each as it is produced.
#[derive(Debug)]
pub struct Harness {
    mode: Mode,
    output: Output,
    filter: Option<String>,
    profile: Option<Profile>,
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
            profile: None,
            rows: Vec::new(),
            scenarios: Vec::new(),
            header_printed: false,
        }
    }

    /// A harness that measures nothing: each selected comparison runs only the side named
    /// in `profile`, for its count of operations, in [`engine::profile`]; sizes are those
    /// of [`Mode::Full`] and scenarios do not run.
    pub fn profiling(profile: Profile, filter: Option<String>) -> Self {
        Harness {
            profile: Some(profile),
            ..Harness::new(Mode::Full, Output::Silent, filter)
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
        if !self.would_run(case) {
            return false;
        }
        if self.output == Output::List {
            say(format_args!("{:<40} {}", case.name(), case.peer));
            return false;
        }
        true
    }

    /// Measures `tenure` against each peer and records one row per peer: the one way every
    /// comparison is timed. `peers` pairs each peer's side with the [`Case`] of its row;
    /// the sides run in the same interleaved rounds (A B C A B C …) after a calibrating
    /// warm-up, within the mode's budget for the sides' [`Kind`] (the smallest
    /// [`max_reps`](Case::max_reps) of the cases caps the rounds). Each row reports both
    /// sides' medians of ns per operation (by the thread's CPU clock if every side allows
    /// it, else the wall clock) and their p99 (over the repetitions, or over every
    /// operation's latency for a side that records latencies, whose largest latency then
    /// goes in `params` too: `max_ns`, `peer_max_ns`) and, in `params`, what each
    /// side's [`info`](Side::info) reports (tenure's side and the peer's, as with
    /// [`runs_reporting`]). A peer whose case the filter
    /// leaves out does not run; a side that cannot run (no `python3`) skips the comparison
    /// with the reason on stderr.
    ///
    /// ```ignore
    /// h.compare(
    ///     op(|| tenure_side()),
    ///     vec![(Case::new("guard", "scopeguard").target(0.95), op(|| peer_side()))],
    /// );
    /// ```
    pub fn compare<'a>(
        &mut self,
        tenure: Box<dyn Side + 'a>,
        peers: Vec<(Case, Box<dyn Side + 'a>)>,
    ) {
        let (cases, peer_sides): (Vec<Case>, Vec<Box<dyn Side + 'a>>) =
            peers.into_iter().filter(|(c, _)| self.selected(c)).unzip();
        if cases.is_empty() {
            return;
        }
        let mut sides = Vec::with_capacity(cases.len() + 1);
        sides.push(tenure);
        sides.extend(peer_sides);
        if let Some(profile) = self.profile.clone() {
            return profile_sides(&profile, &cases, &mut sides);
        }
        let budget = self.mode.budget(engine::kind_of(&sides));
        let reps = cases
            .iter()
            .filter_map(|c| c.max_reps)
            .fold(budget.reps, usize::min);
        let mut count = vec![cases.iter().any(|c| c.allocs)];
        count.extend(cases.iter().map(|c| c.allocs));
        let measured = match engine::measure(&budget, reps, &mut sides, &count) {
            Ok(m) => m,
            Err(why) => {
                for case in &cases {
                    eprintln!("skipping {} vs {}: {why}", case.name(), case.peer);
                }
                return;
            }
        };
        let info: Vec<Vec<(&str, String)>> = sides.iter().map(|s| s.info()).collect();
        drop(sides);
        let tenure = &measured[0];
        for (i, mut case) in cases.into_iter().enumerate() {
            // tenure's figures, then the peer's (keys prefixed by the side that reports).
            for (k, v) in info[0].iter().chain(&info[i + 1]) {
                case = case.info(k, v);
            }
            let peer = &measured[i + 1];
            // Beside each p99 over latencies, the largest latency (what barging costs the
            // one left waiting longest, say).
            for (key, max) in [("max_ns", tenure.max_ns), ("peer_max_ns", peer.max_ns)] {
                if let Some(max) = max {
                    case = case.info(key, round3(max));
                }
            }
            let row = Row {
                bench: case.name(),
                peer: case.peer.to_string(),
                tenure_ns: round3(tenure.median_ns),
                peer_ns: round3(peer.median_ns),
                ratio: round3(peer.median_ns / tenure.median_ns),
                p99_ns: tenure.p99_ns.map(round3),
                peer_p99_ns: peer.p99_ns.map(round3),
                allocs_per_op: tenure.allocs_per_op.map(round3),
                peer_allocs_per_op: peer.allocs_per_op.map(round3),
                target: case.target,
                p99_target: case.p99_target,
                params: case.params,
            };
            self.print(&row);
            self.rows.push(row);
        }
    }

    /// Measures `sides` as [`compare`](Self::compare) measures a comparison's sides
    /// (calibrated, interleaved, the mode's budget) and returns each side's median ns per
    /// operation, for a scenario that reports timings among its figures (the pool's floor).
    /// `None`, with the reason on stderr, when a side cannot run.
    pub fn medians(&mut self, name: &str, mut sides: Vec<Box<dyn Side + '_>>) -> Option<Vec<f64>> {
        let budget = self.mode.budget(engine::kind_of(&sides));
        match engine::measure(&budget, budget.reps, &mut sides, &[]) {
            Ok(m) => Some(m.iter().map(|m| m.median_ns).collect()),
            Err(why) => {
                eprintln!("skipping {name}: {why}");
                None
            }
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
        // Profiling runs one side of each comparison; a scenario is not one.
        self.profile.is_none()
    }

    /// Whether `--profile` asks for a side of the scenario `name` (the filter selects it):
    /// the scenario then sets up as usual and hands its sides to
    /// [`profile_scenario`](Harness::profile_scenario) instead of timing them.
    pub fn scenario_profiled(&self, name: &str) -> bool {
        self.profile.is_some() && self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    /// `--profile SIDE` for a scenario: runs the side of `sides` whose name in `names` is
    /// `SIDE` alone, for `--ops` operations ([`engine::profile`]); nothing if none is.
    pub fn profile_scenario(&self, name: &str, names: &[&str], sides: &mut [Box<dyn Side + '_>]) {
        let Some(profile) = &self.profile else { return };
        let Some(i) = names.iter().position(|n| *n == profile.side) else {
            eprintln!(
                "profile: {name} has no side {} (its sides: {names:?})",
                profile.side
            );
            return;
        };
        match engine::profile(sides[i].as_mut(), profile.ops) {
            Ok(ops) => eprintln!("profiled {name}, side {}: {ops} operations", profile.side),
            Err(why) => eprintln!("profile: {name}, side {}: {why}", profile.side),
        }
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

/// `--profile`: runs the side `profile` names (`tenure`, or a peer of `cases`) alone, for
/// `profile.ops` operations, and says so on stderr.
fn profile_sides(profile: &Profile, cases: &[Case], sides: &mut [Box<dyn Side + '_>]) {
    let name = cases[0].name();
    let which = match profile.side.split_once(':') {
        Some(("tenure", vs)) => cases.iter().any(|c| c.peer == vs).then_some(0),
        _ if profile.side == "tenure" => Some(0),
        _ => cases
            .iter()
            .position(|c| c.peer == profile.side)
            .map(|i| i + 1),
    };
    let Some(i) = which else { return };
    if cases.iter().any(|c| c.peer == "cpython") && i > 0 {
        eprintln!("profile: {name}: the cpython side runs in python3, not here; skipped");
        return;
    }
    match engine::profile(sides[i].as_mut(), profile.ops) {
        Ok(ops) => eprintln!("profiled {name}, side {}: {ops} operations", profile.side),
        Err(why) => eprintln!("profile: {name}, side {}: {why}", profile.side),
    }
}

/// Prints a line on stdout; a closed pipe (`| head`) is not worth a panic.
fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-closure comparison, as most rows are.
    fn pair<'a, A: FnMut() -> RA + 'a, RA, B: FnMut() -> RB + 'a, RB>(
        h: &mut Harness,
        case: Case,
        a: A,
        b: B,
    ) {
        h.compare(op(a), vec![(case, op(b))]);
    }

    #[test]
    fn json_line_has_the_contract_fields() {
        let mut h = Harness::smoke();
        pair(
            &mut h,
            Case::new("guard", "scopeguard").target(0.95),
            || 1,
            || 2,
        );
        let line = serde_json::to_string(&h.rows()[0]).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        for key in ["bench", "peer", "tenure_ns", "peer_ns", "ratio", "target"] {
            assert!(v.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(v["bench"], "guard");
        // Op sides: a p99 over the repetitions on both sides.
        assert!(v["p99_ns"].as_f64().is_some() && v["peer_p99_ns"].as_f64().is_some());
    }

    #[test]
    fn allocs_are_counted_only_when_asked() {
        let mut h = Harness::smoke();
        pair(&mut h, Case::new("guard", "scopeguard"), || 1, || 2);
        pair(
            &mut h,
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
        let case = Case::new("pool", "deadpool")
            .param("tasks", 4)
            .p99_target(1.1);
        h.compare(runs(side(1)), vec![(case, runs(side(3)))]);
        let r = &h.rows()[0];
        assert_eq!(r.bench, "pool/tasks=4");
        assert_eq!((r.tenure_ns, r.peer_ns, r.ratio), (1.0, 3.0, 3.0));
        assert_eq!((r.p99_ns, r.peer_p99_ns), (Some(99.0), Some(297.0)));
        assert_eq!(r.passes_p99(), Some(true));
        assert_eq!(r.params["p99_target"], Value::from(1.1));
        // And the largest latency of each side, in `params`.
        assert_eq!(
            (&r.params["max_ns"], &r.params["peer_max_ns"]),
            (&Value::from(100), &Value::from(300))
        );
        // A side without latencies has no p99 (nor max).
        let c = |ops: u64| Rep {
            ops,
            elapsed: Duration::from_nanos(ops),
            ..Rep::default()
        };
        h.compare(runs(c), vec![(Case::new("pool", "bb8"), runs(side(3)))]);
        assert_eq!(h.rows()[1].p99_ns, None);
        assert!(h.rows()[1].params.get("max_ns").is_none());
        assert!(!serde_json::to_string(&h.rows()[1])
            .unwrap()
            .contains("\"p99_ns\""));
    }

    #[test]
    fn one_row_per_selected_peer_with_the_same_tenure_figures() {
        let mut h = Harness::new(Mode::Smoke, Output::Silent, Some("size=2".into()));
        let rep = |ns: u64| {
            move |ops: u64| Rep {
                ops,
                elapsed: Duration::from_nanos(ops * ns),
                ..Rep::default()
            }
        };
        h.compare(
            runs(rep(2)),
            vec![
                (Case::new("pool", "deadpool").param("size", 2), runs(rep(4))),
                (Case::new("pool", "bb8").param("size", 2), runs(rep(6))),
                (Case::new("pool", "bb8").param("size", 8), runs(rep(8))),
            ],
        );
        let got: Vec<(&str, f64, f64)> = h
            .rows()
            .iter()
            .map(|r| (r.peer.as_str(), r.tenure_ns, r.ratio))
            .collect();
        assert_eq!(got, [("deadpool", 2.0, 2.0), ("bb8", 2.0, 3.0)]);
    }

    #[test]
    fn a_side_that_cannot_run_skips_its_comparison() {
        struct Missing;
        impl Side for Missing {
            fn kind(&self) -> Kind {
                Kind::Op
            }
            fn clock(&self) -> engine::Clock {
                engine::Clock::ThreadCpu
            }
            fn start(&mut self, _: &Budget, _: engine::Clock) -> Result<(), String> {
                Err("`python3` not found on PATH".into())
            }
            fn rep(&mut self, _: u64, _: engine::Clock) -> Result<Rep, String> {
                unreachable!("never started")
            }
        }
        let mut h = Harness::smoke();
        h.compare(
            op(|| 1),
            vec![(Case::new("stack", "cpython"), Box::new(Missing))],
        );
        assert!(h.rows().is_empty());
    }

    #[test]
    fn profiling_runs_only_the_side_asked_and_records_nothing() {
        let (mut a, mut b) = (0_u64, 0_u64);
        let mut h = Harness::profiling(
            Profile {
                side: "scopeguard".into(),
                ops: 10,
            },
            None,
        );
        h.compare(
            op(|| a += 1),
            vec![(Case::new("guard", "scopeguard"), op(|| b += 1))],
        );
        assert!(h.rows().is_empty());
        assert_eq!((a, b), (0, 11));
        // tenure's side, only where the peer is the one named.
        let mut h = Harness::profiling(
            Profile {
                side: "tenure:plain".into(),
                ops: 5,
            },
            None,
        );
        let mut c = 0_u64;
        h.compare(
            op(|| c += 1),
            vec![(Case::new("accumulate", "cpython"), op(|| 0))],
        );
        h.compare(
            op(|| c += 10),
            vec![(Case::new("accumulate", "plain"), op(|| 0))],
        );
        assert_eq!(c, 60);
    }

    #[test]
    fn profiling_a_scenario_runs_the_named_side_only() {
        let h = Harness::profiling(
            Profile {
                side: "raw".into(),
                ops: 7,
            },
            Some("scenario=floor".into()),
        );
        assert!(h.scenario_profiled("db/scenario=floor"));
        assert!(!h.scenario_profiled("db/scenario=other"));
        assert!(!h.scenario_selected("db/scenario=floor"));
        assert!(!Harness::smoke().scenario_profiled("db/scenario=floor"));
        let (mut pooled, mut raw) = (0_u64, 0_u64);
        let mut sides = vec![
            runs(|ops| {
                pooled += ops;
                Rep {
                    ops,
                    ..Rep::default()
                }
            }),
            runs(|ops| {
                raw += ops;
                Rep {
                    ops,
                    ..Rep::default()
                }
            }),
        ];
        h.profile_scenario("db/scenario=floor", &["pooled", "raw"], &mut sides);
        drop(sides);
        // One operation of set-up, then the profiled seven.
        assert_eq!((pooled, raw), (0, 8));
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
        pair(&mut h, Case::new("guard", "scopeguard"), || 1, || 2);
        assert!(h.rows().is_empty());
    }
}
