//! `tenure demo` runs the whole job and proves it: exit 0, every check passed, nothing
//! leaked, plain output off a terminal, and its temporary directory gone afterwards.

mod common;

use common::{demo, row, work_dir};

#[test]
fn the_job_commits_the_good_files_rolls_back_the_bad_ones_and_leaks_nothing() {
    let out = demo(&[]).output().unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    let progress = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}\n{progress}");
    assert!(
        report.starts_with("tenure demo: completed — 8 files: 6 committed, 2 rolled back, 0 not loaded; every check passed (exit 0)\n"),
        "{report}"
    );
    // Files 3 and 6 have a malformed row: each rolled back whole.
    for name in ["input-03.csv", "input-06.csv"] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap();
        assert!(line.contains("rolled back  line 3335 is not"), "{line}");
    }
    assert!(row(&report, "rows").starts_with("30000 committed (30000 in the database)"));
    assert!(row(&report, "ledger").ends_with("; leaked: 0"), "{report}");
    for kind in [
        "input file 8/8 closed",
        "sqlite 4/4 closed",
        "query stream 1/1 closed",
    ] {
        assert!(row(&report, "ledger").contains(kind), "{kind}: {report}");
    }
    assert_eq!(
        report.matches("\n              ok  ").count() + 1,
        4,
        "{report}"
    );
    assert!(!report.contains("FAILED"), "{report}");
    // The pool was asked for more connections than it has: some waited.
    assert!(
        row(&report, "job").contains("4 workers (3 async tasks, 1 thread) sharing the writer"),
        "{report}"
    );
    let waited: u64 = row(&report, "acquires")
        .split(", ")
        .nth(1)
        .and_then(|w| w.strip_suffix(" waited"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(waited > 0, "{report}");
    assert!(
        row(&report, "stream").starts_with("completed: 30000 rows"),
        "{report}"
    );
    // Progress: plain lines on a pipe, one per phase start and end.
    for phase in [
        "write", "setup", "open", "load", "query", "release", "check",
    ] {
        assert!(
            progress.contains(&format!("\n{phase}: started\n"))
                || progress.starts_with(&format!("{phase}: started\n")),
            "{phase}: {progress}"
        );
        assert!(
            progress.contains(&format!("\n{phase}: done in ")),
            "{phase}: {progress}"
        );
    }
    // No escape sequence anywhere when nothing is a terminal.
    assert!(!report.contains('\x1b') && !progress.contains('\x1b'));
    let dir = work_dir(&report);
    assert!(row(&report, "work dir").ends_with("(removed)"));
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn help_lists_the_exit_codes_and_an_example_per_option() {
    let out = demo(&["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // Words as clap wraps them, joined again.
    let help = String::from_utf8(out.stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in [
        "0 the job ran and every check passed",
        "1 the job failed",
        "3 something leaked or a check failed",
        "2 usage",
        "125 the demo itself could not run",
        "130 interrupted",
        "Example: `tenure demo --fail-at load`",
        "Example: `--keep demo-run`",
        "Example: `tenure demo --json | jq .checks`",
    ] {
        assert!(help.contains(text), "{text:?} missing from\n{help}");
    }
}
