//! `tenure demo` with its stderr on a terminal (a pseudo-terminal here): progress is drawn
//! as `indicatif` bars and spinners named after their phase, not printed as plain lines;
//! colours only there, and none with `NO_COLOR`; the report on a pipe stays plain.
#![cfg(unix)]

mod common;

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;

use rustix::pty::OpenptFlags;

/// A pseudo-terminal: (master, slave).
fn pty() -> (File, File) {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
        .unwrap();
    (File::from(master), slave)
}

/// Runs the demo with stderr on a terminal: (exit code, the report on stdout, what the
/// terminal received).
fn on_a_terminal(no_color: bool) -> (Option<i32>, String, String) {
    let (mut master, slave) = pty();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenure"));
    cmd.args(["demo", "--rows", "3000"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave));
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let child = cmd.spawn().unwrap();
    drop(cmd); // our copy of the slave: the terminal ends when the demo's does
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last slave descriptor is closed: the end of the terminal's output.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = child.wait_with_output().unwrap();
    let terminal = reader.join().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        terminal,
    )
}

#[test]
fn on_a_terminal_progress_is_drawn_and_coloured() {
    let (code, report, terminal) = on_a_terminal(false);
    assert_eq!(code, Some(0), "{report}\n{terminal:?}");
    // A bar for the load (its rows known), a spinner naming each other phase.
    assert!(terminal.contains("load ["), "{terminal:?}");
    assert!(terminal.contains("rows"), "{terminal:?}");
    assert!(terminal.contains(" write "), "{terminal:?}");
    // Lines erased and redrawn; not the plain lines a pipe gets.
    assert!(terminal.contains("\x1b[2K"), "{terminal:?}");
    assert!(!terminal.contains("load: started"), "{terminal:?}");
    // Each phase's end stays on screen, in green.
    assert!(terminal.contains("\x1b[32mload: done in "), "{terminal:?}");
    assert!(
        report.starts_with("tenure demo: completed") && !report.contains('\x1b'),
        "{report}"
    );
}

#[test]
fn no_color_keeps_the_bars_and_drops_the_colours() {
    let (code, report, terminal) = on_a_terminal(true);
    assert_eq!(code, Some(0), "{report}\n{terminal:?}");
    assert!(terminal.contains("load ["), "{terminal:?}");
    assert!(terminal.contains("load: done in "), "{terminal:?}");
    // Cursor control stays (it draws the bars); no colour or weight (SGR `…m`) anywhere.
    let sgr = terminal
        .split("\x1b[")
        .skip(1)
        .filter(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| rest[i..].starts_with('m'))
        })
        .count();
    assert_eq!(sgr, 0, "{terminal:?}");
}
