//! `tenure demo --fail-at PHASE`: a failure injected through `testing::Faults` into the
//! opening of the files, the `COMMIT` of a file mid-load (the SQLite manager's test hooks),
//! or the query's stream. Each run exits 1, says what it took back, and still leaks nothing.

mod common;

use std::path::Path;

use common::{demo, row, work_dir};

fn failed_run(phase: &str, keep: Option<&Path>) -> String {
    let mut args = vec!["--fail-at", phase, "--rows", "2000"];
    if let Some(dir) = keep {
        args.extend(["--keep", dir.to_str().unwrap()]);
    }
    let out = demo(&args).output().unwrap();
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
    assert_eq!(work_dir(&report).exists(), keep.is_some());
    report
}

#[test]
fn a_refused_open_closes_the_files_already_open_and_loads_nothing() {
    let report = failed_run("open", None);
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

/// The report's line of each file: `input-01.csv  committed    2000 rows  […]`.
fn file_lines(report: &str) -> Vec<(String, String)> {
    report
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (name, rest) = l.split_once("  ")?;
            (name.starts_with("input-") && name.ends_with(".csv"))
                .then(|| (name.to_string(), rest.trim_start().to_string()))
        })
        .collect()
}

#[test]
fn a_failed_commit_rolls_back_that_file_and_the_others_commit() {
    let parent = tempfile::tempdir().unwrap();
    let kept = parent.path().join("run");
    let report = failed_run("load", Some(&kept));
    // 8 files, 2 with a malformed row: the 4th of the 6 COMMITs fails.
    assert!(
        report.starts_with(
            "tenure demo: failed in load — 8 files: 5 committed, 3 rolled back, 0 not loaded;"
        ),
        "{report}"
    );
    let failed = row(&report, "failed");
    let (file, why) = failed
        .strip_prefix("load: ")
        .and_then(|f| f.split_once(" rolled back: "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        why.starts_with("could not commit the transaction: could not commit on SQLite database `")
            && why.ends_with("demo.db`: injected fault: commit #4 of `sqlite`"),
        "{report}"
    );
    assert_eq!(
        row(&report, "undone"),
        format!("1 transaction rolled back ({file}); 8 open input files closed; no export written")
    );
    assert!(
        row(&report, "connections").starts_with("1 created (0 failed)"),
        "{report}"
    );

    // The database agrees: the failed file's rows are absent, every other good file's are
    // all there, and the files refused for a bad row are absent as ever.
    let db = rusqlite::Connection::open(kept.join("demo.db")).unwrap();
    let count = |sql: &str, name: &str| -> i64 { db.query_row(sql, [name], |r| r.get(0)).unwrap() };
    let lines = file_lines(&report);
    assert_eq!(lines.len(), 8, "{report}");
    let mut committed = 0;
    for (name, what) in &lines {
        let records = count("SELECT count(*) FROM records WHERE file = ?1", name);
        let loads = count("SELECT count(*) FROM loads WHERE file = ?1", name);
        if name == file {
            assert!(what.starts_with("rolled back  could not commit"), "{what}");
            assert_eq!((records, loads), (0, 0), "{name} was rolled back");
        } else if what.starts_with("rolled back  line ") {
            assert!(name == "input-03.csv" || name == "input-06.csv", "{name}");
            assert_eq!((records, loads), (0, 0), "{name}");
        } else {
            assert!(what.starts_with("committed    2000 rows"), "{name}: {what}");
            assert_eq!((records, loads), (2000, 1), "{name}");
            committed += 1;
        }
    }
    assert_eq!(committed, 5, "{report}");
    let total: i64 = db
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 5 * 2000);
    assert!(
        report.contains(
            "ok  rolled back: 0 rows in the database from the 3 files that did not commit"
        ),
        "{report}"
    );
}

#[test]
fn a_failed_row_of_the_stream_ends_the_query_and_no_export_is_written() {
    let report = failed_run("query", None);
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
