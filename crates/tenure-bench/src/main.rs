//! `tenure-bench`: tenure side by side with its peers, following `shared/BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p tenure-bench                  # every bench, as a table
//! cargo run --release -p tenure-bench -- --json        # one JSON object per line
//! cargo run --release -p tenure-bench -- --quick stack # short run, benches named *stack*
//! cargo run --release -p tenure-bench -- --list        # bench and peer names
//! cargo run --release -p tenure-bench --features allocs # also allocs_per_op (src/allocs.rs)
//! ```
//!
//! # Adding a bench module (the contract)
//!
//! One module per bench prefix of `BENCHMARKS.md` (`guard.rs`, `stack.rs`, later
//! `async_stack.rs`, `accumulate.rs`, `meter.rs`, …), each exposing
//!
//! ```ignore
//! /// Runs the `<prefix>` comparisons.
//! pub fn run(h: &mut Harness)
//! ```
//!
//! and listed once in [`BENCHES`] below; nothing else in this file or in the harness
//! changes. Inside `run`, describe each row with a [`harness::Case`] — the prefix and the
//! peer's exact name from `BENCHMARKS.md`, [`param`](harness::Case::param)s for variants
//! (they become `prefix/k=v`), [`info`](harness::Case::info) for sizes of the canonical
//! configuration, the [`target`](harness::Case::target) ratio, [`allocs`](harness::Case::allocs)
//! to report allocator calls per operation — and call
//! [`Harness::compare`] with one closure per side, each doing **one operation** (the
//! harness loops, interleaves, warms up and `black_box`es the results), or
//! [`Harness::compare_cpython`] with a [`python::Snippet`] doing the same operation.
//! Pass problem sizes through [`Harness::size`] so tests run small. The module's doc
//! comment says how each peer is configured (same sizes, capacities, pre-warming;
//! features tenure does not exercise are off in the peer too). Budget: each comparison
//! takes about 1.5 s with `--quick` and 5 s without, whatever the operation costs (the
//! harness calibrates), so keep a module to a handful of rows: `--quick` must finish the
//! whole set in about a minute on two cores. Its tests run `run` on
//! `Harness::smoke()` (test-only) and check that rows come out with positive numbers — never timing
//! thresholds.
#![forbid(unsafe_code)]

mod accumulate;
mod allocs;
mod async_stack;
mod guard;
mod harness;
mod meter;
mod pool;
mod pool_blocking;
mod pool_floor;
mod pool_scenarios;
mod python;
mod stack;

use harness::{Harness, Mode, Output};

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
    ("pool_blocking", pool_blocking::run),
    // Later modules: one line each, above this comment.
];

const USAGE: &str = "\
usage: tenure-bench [--json] [--quick | --smoke] [--list] [FILTER]

Runs tenure against its peers (shared/BENCHMARKS.md) and prints a table. Built with
`--features allocs`, rows also report allocator calls per operation (allocs_per_op).

  FILTER    run only benches whose name contains FILTER (e.g. `guard`, `stack/`)
  --json    one JSON object per line instead of a table
  --quick   short warm-up and fewer repetitions: the whole set in about a minute
  --smoke   one tiny repetition per bench: checks that each runs, numbers mean nothing
  --list    print the bench and peer names, measure nothing
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
    filter: Option<String>,
}

impl Args {
    /// Parses the arguments after the program name. Four flags and one positional do not
    /// need an argument-parsing crate.
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args::default();
        for arg in args {
            match arg.as_str() {
                "--json" => parsed.json = true,
                "--quick" => parsed.quick = true,
                "--smoke" => parsed.smoke = true,
                "--list" => parsed.list = true,
                "-h" | "--help" => parsed.help = true,
                // `cargo bench` passes `--bench`; accept it so both entry points work.
                "--bench" => {}
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                filter => {
                    if let Some(first) = &parsed.filter {
                        return Err(format!("one filter only (got `{first}` and `{filter}`)"));
                    }
                    parsed.filter = Some(filter.to_string());
                }
            }
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
    if allocs::ENABLED && output != Output::List {
        eprintln!(
            "tenure-bench: built with the counting allocator (feature `allocs`): rows that \
             allocate a lot (stack) are timed with its cost; take their ratios from a default build"
        );
    }
    let mut h = Harness::new(mode, output, args.filter);
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
