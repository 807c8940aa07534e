//! `--timeout` on a child that never ends and has children of its own, one of them in a
//! session of its own (`setsid`): tenure exits 124 and leaves nothing behind — no process
//! running, and no zombie (reaped, not merely killed).
//!
//! To tell "reaped by tenure" from "reaped by init later", this test process makes itself
//! a child subreaper: whatever tenure left would be re-parented here and show up in /proc
//! (as a zombie, since this test never waits for it). One test in this file, so no other
//! test shares the process.

mod common;

use std::time::Duration;

use common::{json_report, meter};

/// The state letter of `/proc/PID/stat`, if the process exists.
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

#[test]
fn timeout_stops_and_reaps_the_whole_tree_setsid_included() {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Each process notes its pid: CMD, a child in CMD's group, one in a session of its own,
    // and a grandchild whose parent stays alive until the group is stopped. The children's
    // output goes elsewhere: one that survived must fail this test, not hang it on a pipe.
    let script = r#"
        echo $$ >> "$PIDS"
        sh -c 'echo $$ >> "$PIDS"; exec sleep 1000' >/dev/null 2>&1 &
        setsid sh -c 'echo $$ >> "$PIDS"; exec sleep 1000' >/dev/null 2>&1 &
        sh -c 'echo $$ >> "$PIDS"; sleep 1000 & echo $! >> "$PIDS"; wait' >/dev/null 2>&1 &
        echo started
        wait
    "#;
    let out = meter(&[
        "--timeout",
        "3s",
        "--grace",
        "1s",
        "--json",
        "--",
        "sh",
        "-c",
        script,
    ])
    .env("PIDS", &pids)
    .output()
    .unwrap();
    let recorded: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let left: Vec<(i32, char)> = recorded
        .iter()
        .filter_map(|&p| state(p).map(|s| (p, s)))
        .collect();
    // Clean up before asserting, so a failure leaves nothing either.
    for &(pid, _) in &left {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    std::thread::sleep(Duration::from_millis(if left.is_empty() { 0 } else { 200 }));
    while let Ok(Some(_)) = rustix::process::wait(rustix::process::WaitOptions::NOHANG) {}

    assert_eq!(
        out.status.code(),
        Some(124),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        recorded.len(),
        5,
        "every process started within the timeout: {recorded:?}"
    );
    assert_eq!(
        left,
        [],
        "(pid, state) of processes tenure left behind (Z: not reaped)"
    );
    let j = json_report(&out.stderr);
    assert_eq!(j["status"], "timed_out");
    assert_eq!(j["timeout_ns"], 3_000_000_000u64);
    assert!(
        j["stopped_processes"].as_u64().unwrap() >= 5,
        "all five signalled: {j}"
    );
    assert!(j["reaped_descendants"].as_u64().unwrap() >= 4, "{j}");
    assert_eq!(j["processes_left"], 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "started\n");
    assert!(ns_at_least(&j["total_ns"], 3.0), "{j}");
}

fn ns_at_least(v: &serde_json::Value, secs: f64) -> bool {
    v.as_u64().is_some_and(|n| n as f64 / 1e9 >= secs * 0.99)
}
