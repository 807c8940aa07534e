//! Running the `tenure` binary in tests, and reading its reports.
#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// `tenure meter ARGS…`, bounded in time (a safety net against a hang, not an assertion),
/// with Python's buffering left to Python.
pub fn meter(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("tenure").expect("the tenure binary");
    c.arg("meter")
        .args(args)
        .env_remove("PYTHONUNBUFFERED")
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(120));
    c
}

/// The JSON report of a run (stderr's last line).
pub fn json_report(stderr: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no report in {text:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

/// The value of a table row (`  lines       4, 11 B …` → `4, 11 B …`).
pub fn row<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .filter(|rest| rest.starts_with(' '))
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("no `{key}` row in\n{report}"))
}

/// `304.8 ms` → seconds.
pub fn seconds(text: &str) -> f64 {
    let mut parts = text.split_whitespace();
    let v: f64 = parts.next().unwrap().parse().unwrap();
    let unit = parts.next().unwrap();
    v * match unit {
        "ns" => 1e-9,
        "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        other => panic!("unit {other:?}"),
    }
}

/// The leading count of a `reads` / `lines` row, and its byte count (`4, 11 B (…)`).
pub fn count_and_bytes(row: &str) -> (u64, u64) {
    let (count, rest) = row.split_once(", ").unwrap();
    let bytes = rest.split_once(" B").unwrap().0;
    (count.parse().unwrap(), bytes.parse().unwrap())
}

pub fn ns(v: &Value) -> f64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not integer nanoseconds: {v}")) as f64
        / 1e9
}

/// `tenure demo ARGS…`, bounded in time (a safety net against a hang, not an assertion).
pub fn demo(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("tenure").expect("the tenure binary");
    c.arg("demo")
        .args(args)
        .env_remove("NO_COLOR")
        .timeout(Duration::from_secs(300));
    c
}

/// The work directory a demo report names (`  work dir    /tmp/x (removed)`).
pub fn work_dir(report: &str) -> std::path::PathBuf {
    let value = row(report, "work dir");
    let (path, _) = value.rsplit_once(" (").expect("`PATH (fate)`");
    path.into()
}
