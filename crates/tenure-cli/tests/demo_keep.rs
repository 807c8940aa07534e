//! `tenure demo --keep DIR`: a new directory, kept; one that exists or cannot be made is a
//! usage error of one line, before anything runs.

mod common;

use common::demo;

#[test]
fn an_existing_directory_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo(&["--keep", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tenure demo: --keep ") && err.contains("already exists"),
        "{err}"
    );
}

#[test]
fn a_directory_that_cannot_be_made_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("run");
    let out = demo(&["--keep", under_a_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot create it"), "{err}");
    assert!(!under_a_file.exists());
}

#[test]
fn a_failed_run_keeps_its_directory_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("run");
    let out = demo(&[
        "--fail-at",
        "query",
        "--rows",
        "500",
        "--keep",
        kept.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(kept.join("demo.db").is_file());
    assert!(
        !kept.join("export.csv").exists(),
        "no export after a failed query"
    );
}
