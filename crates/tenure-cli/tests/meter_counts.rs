//! `tenure meter` on a script with known writes and known delays: exact byte and line
//! counts, chunk counts bounded by the writes, gaps at least the scripted delays (lower
//! bounds only: a loaded machine may be slow, never fast), and the JSON agreeing with the
//! table.

mod common;

use common::{count_and_bytes, json_report, meter, ns, row, seconds};

/// Three writes: 2 B, 0.1 s, 6 B, 0.5 s, 3 B without a newline. 11 B, 4 lines.
const SCRIPT: &str = "printf 'a\\n'; sleep 0.1; printf 'bb\\ncc\\n'; sleep 0.5; printf 'ddd'";
const OUTPUT: &str = "a\nbb\ncc\nddd";
const LONGEST_DELAY: f64 = 0.5;
const ALL_DELAYS: f64 = 0.6;

#[test]
fn read_mode_counts_bytes_exactly_and_at_most_one_chunk_per_write() {
    let out = meter(&["--json", "--", "sh", "-c", SCRIPT])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        OUTPUT,
        "passed through unchanged"
    );
    let j = json_report(&out.stderr);
    assert_eq!(j["status"], "completed");
    assert_eq!(j["unit"], "chunks");
    assert_eq!(j["bytes"], 11);
    let chunks = j["chunks"].as_u64().unwrap();
    assert!((1..=3).contains(&chunks), "{chunks} chunks for 3 writes");
    assert!(ns(&j["total_ns"]) >= 0.9 * ALL_DELAYS, "{j}");
    if chunks == 3 {
        // Not coalesced: the longest gap is the longest pause.
        assert!(
            ns(&j["inter_chunk"]["max_ns"]) >= 0.9 * LONGEST_DELAY,
            "{j}"
        );
    }
    assert_eq!(j["exit_status"], serde_json::json!({ "code": 0 }));
    assert_eq!(j["exit_code"], 0);
}

#[test]
fn line_mode_counts_lines_exactly_and_a_gap_shows_the_longest_pause() {
    let out = meter(&["--lines", "--json", "--", "sh", "-c", SCRIPT])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), OUTPUT);
    let j = json_report(&out.stderr);
    assert_eq!(
        (
            j["unit"].as_str(),
            j["chunks"].as_u64(),
            j["bytes"].as_u64()
        ),
        (Some("lines"), Some(4), Some(11))
    );
    // `a` alone, `bb` and `cc` together, `ddd` at the end: the last line arrives a
    // scripted 0.5 s after the two before it.
    let itl = &j["inter_chunk"];
    assert_eq!(itl["count"], 3);
    assert!(ns(&itl["max_ns"]) >= 0.9 * LONGEST_DELAY, "{j}");
    let gaps = &j["gaps"];
    assert_eq!(gaps["count"], 3);
    let in_buckets: u64 = gaps["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(in_buckets, 3);
    assert_eq!(gaps["max_ns"], itl["max_ns"]);
}

#[test]
fn the_table_says_what_the_json_says() {
    let table = meter(&["--lines", "--", "sh", "-c", SCRIPT])
        .output()
        .unwrap();
    let json = meter(&["--lines", "--json", "--", "sh", "-c", SCRIPT])
        .output()
        .unwrap();
    assert_eq!(table.status.code(), json.status.code());
    let report = String::from_utf8_lossy(&table.stderr);
    let j = json_report(&json.stderr);
    assert!(
        report.starts_with("tenure meter: completed — `sh -c "),
        "{report}"
    );
    assert!(
        report.lines().next().unwrap().ends_with("exited 0"),
        "{report}"
    );
    let (lines, bytes) = count_and_bytes(row(&report, "lines"));
    assert_eq!(
        (lines, bytes),
        (j["chunks"].as_u64().unwrap(), j["bytes"].as_u64().unwrap())
    );
    let gaps = row(&report, "gaps");
    assert!(
        gaps.starts_with(&format!("{}: ", j["inter_chunk"]["count"])),
        "{gaps}"
    );
    let max = gaps.rsplit_once("max ").unwrap().1;
    assert!(seconds(max) >= 0.9 * LONGEST_DELAY, "{report}");
    assert!(
        seconds(row(&report, "total")) >= 0.9 * ALL_DELAYS,
        "{report}"
    );
    // The histogram's rows add up to the gaps, and the pipe is named.
    let pictured: u64 = report
        .lines()
        .filter(|l| l.contains(" – "))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(pictured, 3, "{report}");
    assert!(report.contains("stdout was a pipe"), "{report}");
    assert!(
        !report.contains('\x1b'),
        "no colours off a terminal: {report:?}"
    );
}

#[test]
fn quiet_drops_the_output_but_meters_it() {
    let out = meter(&["-q", "--json", "--", "sh", "-c", SCRIPT])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(json_report(&out.stderr)["bytes"], 11);
}

#[test]
fn stderr_mode_meters_stderr_and_passes_stdout_through() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let script = "echo out; printf 'e1\\n' >&2; sleep 0.2; printf 'e2\\n' >&2";
    let out = meter(&[
        "--stderr",
        "--lines",
        "--json",
        "--report",
        report.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        script,
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "e1\ne2\n",
        "only CMD's stderr: the report went to the file"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        (
            j["metered"].as_str(),
            j["chunks"].as_u64(),
            j["bytes"].as_u64()
        ),
        (Some("stderr"), Some(2), Some(6))
    );
}

#[test]
fn a_report_file_keeps_stderr_to_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    let out = meter(&[
        "--report",
        report.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(count_and_bytes(row(&text, "reads")).1, 3);
}

#[test]
fn no_output_at_all() {
    let out = meter(&["--json", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j = json_report(&out.stderr);
    assert_eq!(
        (j["chunks"].as_u64(), j["bytes"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(j["ttfb_ns"].is_null() && j["inter_chunk"].is_null(), "{j}");
}

#[test]
fn stdin_is_passed_when_it_is_not_a_terminal() {
    let out = meter(&["--json", "--", "cat"])
        .write_stdin("from stdin\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from stdin\n");
    assert_eq!(json_report(&out.stderr)["bytes"], 11);
}
