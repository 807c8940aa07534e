//! When the demo itself cannot run (here: no temporary directory can be made), it says why
//! in its report, still accounts for everything, and exits 125.

mod common;

use common::{demo, row};

#[test]
fn no_temporary_directory_is_exit_125_with_a_report() {
    let out = demo(&["--rows", "10"])
        .env("TMPDIR", "/nonexistent/tenure-demo-test")
        .output()
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(125), "{report}");
    assert!(
        report.starts_with("tenure demo: could not run — "),
        "{report}"
    );
    assert!(
        row(&report, "error").starts_with("cannot create a temporary directory: "),
        "{report}"
    );
    assert!(row(&report, "ledger").ends_with("leaked: 0"), "{report}");
}
