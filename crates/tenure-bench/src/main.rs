//! `tenure-bench`: tenure side by side with its peers, following the benchmark protocol in
//! `docs/BENCHMARKS.md` (names, JSON line, peers).
//!
//! ```text
//! cargo run --release -p tenure-bench                  # every bench, as a table
//! cargo run --release -p tenure-bench -- --json        # one JSON object per line
//! cargo run --release -p tenure-bench -- --quick stack # short run, benches named *stack*
//! cargo run --release -p tenure-bench -- --list        # bench and peer names
//! cargo run --release -p tenure-bench --features allocs # also allocs_per_op (src/allocs.rs)
//! # instructions of one side of a comparison, whatever the machine's load:
//! cargo build --release -p tenure-bench
//! valgrind --tool=callgrind --toggle-collect='*harness*engine*profiled*' \
//!     target/release/tenure-bench --profile tenure:plain --ops 20 'view_per_step,chunks=64000'
//! ```
//!
//! # Layout
//!
//! ```text
//! main.rs            the command line and the dispatcher (BENCHES: one line per bench)
//! harness/mod.rs     Harness: filter, --list, --profile, compare (the one entry point), output
//! harness/engine.rs  the one calibrate-then-measure engine, its clocks; the sides op,
//!                    op_waiting, runs, cpython
//! harness/report.rs  Case (a row's name, peer, params, targets), Row (the JSON line), table
//! allocs.rs          allocs_per_op (feature `allocs`)
//! python.rs          the CPython peer's subprocess driver
//! guard.rs stack.rs async_stack.rs accumulate.rs meter.rs    one bench prefix each
//! pool/mod.rs        the pool family's dispatcher: rows, scenarios, floor; pool_blocking
//! pool/fixtures.rs   what every pool bench builds (pools, no-op managers, runtime)
//! pool/{rows,blocking,scenarios,floor}.rs   the pool benches; each imports fixtures only
//! ```
//!
//! # Adding a comparison (the contract)
//!
//! A new bench prefix of `docs/BENCHMARKS.md` (for example `db_sqlite` or `db_postgres`) is
//! one file, `src/db_sqlite.rs`, exposing
//!
//! ```ignore
//! /// Runs the `db_sqlite` comparisons.
//! pub fn run(h: &mut Harness)
//! ```
//!
//! plus `mod db_sqlite;` and one line in [`BENCHES`] below; nothing else in this file or in
//! the harness changes. Inside `run`, describe each row with a [`harness::Case`] — the prefix
//! and the peer's exact name from `BENCHMARKS.md`, [`param`](harness::Case::param)s for
//! variants (they become `prefix/k=v`), [`info`](harness::Case::info) for sizes of the
//! canonical configuration, the [`target`](harness::Case::target) ratio,
//! [`allocs`](harness::Case::allocs) to report allocator calls per operation — and hand the
//! sides to [`Harness::compare`], the one way every comparison is measured: tenure's side
//! first, then one `(Case, side)` per peer (several peers share one set of interleaved
//! rounds and get a row each). A side is
//!
//! - [`harness::op`]`(|| …)`: a closure doing **one operation** on the calling thread
//!   without waiting (an SQLite statement on an in-memory database); the engine calibrates
//!   the count, loops it, interleaves the sides, warms up and `black_box`es the results;
//! - [`harness::op_waiting`]`(|| …)`: the same for an operation that waits — a query to
//!   a PostgreSQL server, a file sync, work done by other threads;
//! - [`harness::runs`]`(|ops| …)`: a closure that runs about `ops` operations itself —
//!   tasks on a runtime, threads — and returns a [`harness::Rep`] (operations, elapsed,
//!   optionally one latency per operation for a p99 over every operation);
//! - [`harness::cpython`]`(&snippet)`: the same operation in `python3`
//!   ([`python::Snippet`]).
//!
//! A comparison whose sides are all `op` or `cpython` is timed by the measuring thread's
//! CPU clock, which does not count the time the bench waited for a CPU on a loaded machine;
//! one with an `op_waiting` or `runs` side by the wall clock, for every side (the engine's
//! docs, "Which clock", say why). Pass problem sizes through [`Harness::size`] so tests run
//! small, and check
//! [`Harness::would_run`] before costly set-up (a server, a pool) so a filtered run skips
//! it. A database bench that pools connections builds its peers' pools next to its rows
//! and may reuse [`pool::fixtures`] (the runtime, the pool timeouts); a result that is
//! counts rather than one timing is a [`Harness::scenario`]. The module's doc comment says
//! how each peer is configured (same sizes, capacities, pre-warming; features tenure does
//! not exercise are off in the peer too). Budget: each comparison takes about 1.5 s with
//! `--quick` and 5 s without, whatever the operation costs (the engine calibrates), so keep
//! a module to a handful of rows: `--quick` must finish the whole set in about a minute on
//! two cores. Its tests run `run` through `Harness::smoke_rows` (test-only) and check that
//! rows come out with positive numbers — never timing thresholds.
#![forbid(unsafe_code)]

mod accumulate;
mod allocs;
mod async_stack;
mod db_postgres;
mod db_sqlite;
mod guard;
mod harness;
mod meter;
mod pool;
mod python;
mod stack;

use harness::{Harness, Mode, Output, Profile};

/// A bench module's entry point.
type Run = fn(&mut Harness);

/// Every bench module, in run order: its prefix and its `run`. Add one line per module.
const BENCHES: &[(&str, Run)] = &[
    ("guard", guard::run),
    ("stack", stack::run),
    ("async_stack", async_stack::run),
    ("accumulate", accumulate::run),
    ("meter", meter::run),
    ("pool", pool::run),
    ("pool_blocking", pool::run_blocking),
    ("db_sqlite", db_sqlite::run),
    ("db_postgres", db_postgres::run),
    // Later modules: one line each, above this comment.
];

const USAGE: &str = "\
usage: tenure-bench [--json] [--quick | --smoke] [--list] [FILTER]
       tenure-bench --profile SIDE [--ops N] FILTER

Runs tenure against its peers (the protocol and names: docs/BENCHMARKS.md) and prints a
table. Built with `--features allocs`, rows also report allocator calls per operation
(allocs_per_op).

  FILTER          run only benches whose name contains FILTER (e.g. `guard`, `stack/`)
  --json          one JSON object per line instead of a table
  --quick         short warm-up and fewer repetitions: the whole set in about a minute
  --smoke         one tiny repetition per bench: checks that each runs, numbers mean nothing
  --list          print the bench and peer names, measure nothing
  --profile SIDE  time nothing: run only SIDE (`tenure`, `tenure:PEER` for its comparisons
                  with PEER, or a peer's name) of each selected comparison, N operations
                  (--ops, default 10) inside one function, for valgrind --tool=callgrind
                  --toggle-collect='*harness*engine*profiled*'
  -h, --help
";

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    json: bool,
    quick: bool,
    smoke: bool,
    list: bool,
    help: bool,
    profile: Option<String>,
    ops: Option<u64>,
    filter: Option<String>,
}

impl Args {
    /// Parses the arguments after the program name. A few flags and one positional do not
    /// need an argument-parsing crate.
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("`{name}` needs a value"))
            };
            match flag.as_str() {
                "--json" => parsed.json = true,
                "--quick" => parsed.quick = true,
                "--smoke" => parsed.smoke = true,
                "--list" => parsed.list = true,
                "-h" | "--help" => parsed.help = true,
                "--profile" => parsed.profile = Some(value("--profile")?),
                "--ops" => {
                    let v = value("--ops")?;
                    let n = v.parse().map_err(|_| format!("`--ops {v}`: not a count"))?;
                    parsed.ops = Some(n);
                }
                // `cargo bench` passes `--bench`; accept it so both entry points work.
                "--bench" => {}
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                _ => {
                    if let Some(first) = &parsed.filter {
                        return Err(format!("one filter only (got `{first}` and `{arg}`)"));
                    }
                    parsed.filter = Some(arg);
                }
            }
        }
        if parsed.ops.is_some() && parsed.profile.is_none() {
            return Err("`--ops` counts the operations of `--profile`".to_string());
        }
        Ok(parsed)
    }
}

fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("tenure-bench: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if args.help {
        print!("{USAGE}");
        return;
    }
    let mode = match (args.smoke, args.quick) {
        (true, _) => Mode::Smoke,
        (false, true) => Mode::Quick,
        (false, false) => Mode::Full,
    };
    let output = match (args.list, args.json) {
        (true, _) => Output::List,
        (false, true) => Output::Json,
        (false, false) => Output::Table,
    };
    if cfg!(debug_assertions) && output != Output::List {
        eprintln!("tenure-bench: a debug build; numbers mean little without --release");
    }
    if allocs::ENABLED && output != Output::List && args.profile.is_none() {
        eprintln!(
            "tenure-bench: built with the counting allocator (feature `allocs`): rows that \
             allocate a lot (stack) are timed with its cost; take their ratios from a default build"
        );
    }
    let mut h = match args.profile {
        Some(side) => {
            let ops = args.ops.unwrap_or(10);
            Harness::profiling(Profile { side, ops }, args.filter)
        }
        None => Harness::new(mode, output, args.filter),
    };
    for (_prefix, run) in BENCHES {
        run(&mut h);
    }
    h.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags_and_filter() {
        let a = parse(&["--json", "--quick", "stack"]).unwrap();
        assert!(a.json && a.quick && !a.list);
        assert_eq!(a.filter.as_deref(), Some("stack"));
        assert_eq!(parse(&[]).unwrap(), Args::default());
        assert!(parse(&["--list"]).unwrap().list);
    }

    #[test]
    fn parses_a_profile_request() {
        let a = parse(&["--profile", "plain", "--ops=20", "view_per_step"]).unwrap();
        assert_eq!(a.profile.as_deref(), Some("plain"));
        assert_eq!(a.ops, Some(20));
        assert_eq!(a.filter.as_deref(), Some("view_per_step"));
        assert_eq!(parse(&["--profile=tenure"]).unwrap().ops, None);
        assert!(parse(&["--profile"]).is_err());
        assert!(parse(&["--ops", "3"]).is_err());
        assert!(parse(&["--profile", "tenure", "--ops", "x"]).is_err());
    }

    #[test]
    fn rejects_unknown_flags_and_two_filters() {
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["guard", "stack"]).is_err());
    }

    #[test]
    fn prefixes_are_unique() {
        let mut prefixes: Vec<_> = BENCHES.iter().map(|(p, _)| *p).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        assert_eq!(prefixes.len(), BENCHES.len());
    }
}
