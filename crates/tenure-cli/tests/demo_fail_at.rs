//! `tenure demo --fail-at PHASE`: a failure injected through `testing::Faults` into the
//! opening of the files, the SQLite manager's opening of the writer connection, or the query's
//! stream. Each run exits 1, says what it took back, and still leaks nothing.

mod common;

use common::{demo, row, work_dir};

fn failed_run(phase: &str) -> String {
    let out = demo(&["--fail-at", phase, "--rows", "2000"])
        .output()
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.starts_with(&format!("tenure demo: failed in {phase} — ")),
        "{report}"
    );
    assert!(
        report.contains("; every check passed (exit 1)\n"),
        "{report}"
    );
    assert!(row(&report, "ledger").ends_with("; leaked: 0"), "{report}");
    assert!(!work_dir(&report).exists());
    report
}

#[test]
fn a_refused_open_closes_the_files_already_open_and_loads_nothing() {
    let report = failed_run("open");
    assert!(
        row(&report, "failed")
            .ends_with("could not open `input-05.csv`: injected fault: acquire #5 of `input file`"),
        "{report}"
    );
    assert_eq!(
        row(&report, "undone"),
        "no transaction was open; 4 open input files closed; no export written"
    );
    assert!(
        row(&report, "ledger").contains("input file 4/4 closed"),
        "{report}"
    );
}

#[test]
fn a_writer_connection_that_cannot_be_opened_halts_the_load() {
    let report = failed_run("load");
    let failed = row(&report, "failed");
    assert!(
        failed.contains("no connection")
            && failed.ends_with("injected fault: acquire #2 of `sqlite`"),
        "{report}"
    );
    assert!(
        row(&report, "undone").ends_with("8 open input files closed; no export written"),
        "{report}"
    );
    // Nothing of a file that did not commit is in the database.
    assert!(report.contains("ok  rows committed: "), "{report}");
    assert!(
        report.contains("ok  rolled back: 0 rows in the database"),
        "{report}"
    );
    assert!(
        row(&report, "connections").contains("(1 failed)"),
        "{report}"
    );
}

#[test]
fn a_failed_row_of_the_stream_ends_the_query_and_no_export_is_written() {
    let report = failed_run("query");
    assert!(
        row(&report, "failed").ends_with("injected fault: statement #6001 of `query stream`"),
        "{report}"
    );
    assert!(
        row(&report, "stream").starts_with("failed (could not read row 6001): 6000 rows"),
        "{report}"
    );
    assert!(
        row(&report, "undone").ends_with("no export written"),
        "{report}"
    );
    assert!(
        row(&report, "ledger").contains("query stream 1/1 closed"),
        "{report}"
    );
}
