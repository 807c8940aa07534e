//! Ctrl-C during the load: the job stops, rolls back the transactions it had open, releases
//! everything, reports, and exits 130 — with nothing half-committed.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;

#[test]
fn sigint_during_the_load_rolls_back_and_exits_130() {
    let parent = tempfile::tempdir().unwrap();
    let kept = parent.path().join("run");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("tenure"))
        .args(["demo", "--json", "--rows", "200000", "--keep"])
        .arg(&kept)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            progress.read_line(&mut line).unwrap() > 0,
            "no `load: started`"
        );
        if line == "load: started\n" {
            break;
        }
    }
    let pid = Pid::from_raw(child.id() as i32).unwrap();
    kill_process(pid, Signal::INT).unwrap();
    let rest = std::thread::spawn(move || std::io::read_to_string(progress).unwrap());
    let out = child.wait_with_output().unwrap();
    let progress = rest.join().unwrap();
    assert_eq!(out.status.code(), Some(130), "{progress}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["status"], "interrupted");
    assert_eq!(j["error"], "interrupted by SIGINT");
    assert_eq!(j["leaked"], 0, "{j:#}");
    assert!(
        j["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true),
        "{j:#}"
    );
    // Nothing half-committed: each file is in the database whole or not at all, and only
    // the files the report says committed.
    let db = rusqlite::Connection::open(kept.join("demo.db")).unwrap();
    for f in j["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM records WHERE file = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap();
        let expected = if f["outcome"] == "committed" {
            f["valid_rows"].as_i64().unwrap()
        } else {
            0
        };
        assert_eq!(n, expected, "{name}: {f}");
    }
    assert!(
        j["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["outcome"] != "committed"),
        "the signal came after the whole load: {j:#}"
    );
}
