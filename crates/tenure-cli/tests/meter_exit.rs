//! Exit codes: the child's own, 128 + a signal, 126 / 127 for a command that cannot run,
//! clap's 2 for usage errors.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{json_report, meter};
use predicates::prelude::*;

#[test]
fn a_non_zero_exit_is_passed_on_and_reported() {
    let out = meter(&["--json", "--", "sh", "-c", "echo x; exit 3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let j = json_report(&out.stderr);
    assert_eq!(j["exit_status"], serde_json::json!({ "code": 3 }));
    assert_eq!(
        (j["exit_code"].as_u64(), j["status"].as_str()),
        (Some(3), Some("completed"))
    );
    meter(&["--", "sh", "-c", "exit 3"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(
            "tenure meter: completed — `sh -c 'exit 3'` exited 3\n",
        ));
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let out = meter(&["--json", "--", "sh", "-c", "echo x; kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128 + 9));
    let j = json_report(&out.stderr);
    assert_eq!(
        j["exit_status"],
        serde_json::json!({ "signal": 9, "name": "SIGKILL" })
    );
    meter(&["--", "sh", "-c", "kill -KILL $$"])
        .assert()
        .code(137)
        .stderr(predicate::str::contains("killed by SIGKILL (signal 9)"));
}

#[test]
fn a_missing_command_is_127_with_one_line() {
    meter(&["--", "tenure-no-such-command-here"])
        .assert()
        .code(127)
        .stdout("")
        .stderr("tenure meter: tenure-no-such-command-here: command not found\n");
}

#[test]
fn a_command_that_is_not_executable_is_126_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = meter(&["--", script.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "tenure meter: {}: cannot execute",
            script.display()
        )),
        "{err}"
    );
    // A directory, too.
    meter(&["--", dir.path().to_str().unwrap()])
        .assert()
        .code(126);
}

#[test]
fn usage_errors_keep_clap_s_2() {
    meter(&[]).assert().code(2);
    meter(&["--timeout", "soon", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--timeout"));
}

#[test]
fn help_explains_the_pipe_and_the_pty() {
    meter(&["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--pty").and(predicate::str::contains("block-buffer")));
}
