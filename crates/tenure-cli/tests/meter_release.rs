//! The child as a resource on the other ways a run ends: our stdout closed early (141, no
//! error spew, the report names it), a signal to tenure (130), a child that ignores SIGTERM
//! (SIGKILL after the grace period), and what CMD leaves running after it exits.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::json_report;

fn tenure(args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tenure"));
    c.arg("meter").args(args).stdin(Stdio::null());
    c
}

/// Waits for `child`, at most a generous while (a hang fails the test instead of blocking it).
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tenure did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn our_stdout_closing_stops_the_child_with_141_and_no_error_spew() {
    let mut child = tenure(&["--", "yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 4];
    out.read_exact(&mut first).unwrap();
    drop(out); // our reader goes away, as `| head -c 4` would
    let status = wait_bounded(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(141), "{err}");
    assert!(
        err.starts_with("tenure meter: output closed — `yes` "),
        "{err}"
    );
    assert!(
        !err.to_lowercase().contains("broken pipe") && !err.contains("error"),
        "{err}"
    );
}

#[test]
fn a_signal_to_tenure_stops_the_child_with_130() {
    let mut child = tenure(&["--json", "--", "sh", "-c", "echo started; sleep 1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "started\n");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = wait_bounded(&mut child);
    let j = json_report(stderr_of(&mut child).as_bytes());
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        (j["status"].as_str(), j["interrupted_by"].as_str()),
        (Some("interrupted"), Some("SIGTERM"))
    );
    assert_eq!(j["exit_status"]["name"], "SIGTERM", "CMD was stopped: {j}");
    assert_eq!(j["processes_left"], 0);
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let out = assert_cmd::Command::cargo_bin("tenure")
        .unwrap()
        .args([
            "meter",
            "--timeout",
            "1s",
            "--grace",
            "300ms",
            "--json",
            "--",
        ])
        .args([
            "sh",
            "-c",
            "trap '' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    let j = json_report(&out.stderr);
    assert_eq!(j["sigkill_needed"], true, "{j}");
    assert_eq!(j["exit_status"]["name"], "SIGKILL");
    assert!(j["total_ns"].as_u64().unwrap() >= 990_000_000, "{j}");
}

#[test]
fn what_cmd_leaves_running_is_stopped_and_reaped_once_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // A daemon-like leftover: its output elsewhere, so the stream ends when CMD exits.
    let script = r#"sleep 1000 >/dev/null 2>&1 & echo $! > "$PID_FILE"; echo done"#;
    let out = assert_cmd::Command::cargo_bin("tenure")
        .unwrap()
        .args(["meter", "--json", "--", "sh", "-c", script])
        .env("PID_FILE", &pid_file)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "CMD's own status");
    let j = json_report(&out.stderr);
    assert!(j["stopped_processes"].as_u64().unwrap() >= 1, "{j}");
    assert!(j["reaped_descendants"].as_u64().unwrap() >= 1, "{j}");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    assert!(
        stat.is_none(),
        "the leftover sleep is still there: {stat:?}"
    );
}
