//! `--pty` on a program that block-buffers a pipe (Python): on the pseudo-terminal the gaps
//! show its pauses; on a pipe everything arrives in one flush at exit, and the report says
//! that stdout was a pipe.

mod common;

use common::{json_report, meter, ns};

const PRINTER: &str = "import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.4)\n";
const PAUSE: f64 = 0.4;

#[test]
fn on_a_pty_the_gaps_show_the_pauses_and_bytes_are_untranslated() {
    let out = meter(&["--pty", "--lines", "--json", "--", "python3", "-c", PRINTER])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n1\n2\n",
        "no \\r\\n from the terminal"
    );
    let j = json_report(&out.stderr);
    assert_eq!(
        (
            j["pty"].as_bool(),
            j["chunks"].as_u64(),
            j["bytes"].as_u64()
        ),
        (Some(true), Some(3), Some(6))
    );
    assert!(
        ns(&j["inter_chunk"]["min_ns"]) >= 0.9 * PAUSE,
        "each line a pause apart: {j}"
    );
    let table = meter(&["--pty", "--", "python3", "-c", PRINTER])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&table.stderr);
    assert!(
        report.contains("stdout (pty)") && !report.contains("was a pipe"),
        "{report}"
    );
}

#[test]
fn on_a_pipe_python_flushes_once_and_the_report_says_so() {
    let out = meter(&["--", "python3", "-c", PRINTER]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n1\n2\n");
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("note: CMD's stdout was a pipe"), "{report}");
    let json = meter(&["--json", "--", "python3", "-c", PRINTER])
        .output()
        .unwrap();
    let j = json_report(&json.stderr);
    assert_eq!(
        (
            j["pipe"].as_bool(),
            j["chunks"].as_u64(),
            j["bytes"].as_u64()
        ),
        (Some(true), Some(1), Some(6)),
        "{j}"
    );
    // The one flush came only at exit: TTFB covers the pauses.
    assert!(ns(&j["ttfb_ns"]) >= 0.9 * 3.0 * PAUSE, "{j}");
}
