//! CMD's processes as one resource: the reaper that waits for every child of ours, the
//! process tree below us, and stopping it all.
//!
//! tenure has no children but CMD, so one thread waits for *any* child (`waitpid(-1)`): CMD
//! itself, and — tenure being a child subreaper on Linux — every descendant orphaned on the
//! way, setsid or not. `ECHILD` then means that no descendant is left at all: with the
//! subreaper, a live descendant always has a chain of parents up to one of our children.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use rustix::process::{Pid, Signal, WaitOptions};

/// How CMD ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

impl ChildStatus {
    /// The exit code a shell gives it: the code, or 128 + the signal.
    pub fn shell_code(self) -> u8 {
        match self {
            ChildStatus::Exited(c) => (c & 0xff) as u8,
            ChildStatus::Signaled(s) => (128 + s).clamp(0, 255) as u8,
        }
    }
}

/// What the reaper saw.
#[derive(Debug)]
pub enum Reaped {
    /// CMD itself ended.
    Cmd(ChildStatus),
    /// No child is left (CMD's status was sent before).
    All,
}

/// Makes tenure the reaper of its orphaned descendants (Linux); elsewhere nothing (they go
/// to init and only the process group can be stopped).
pub fn become_subreaper() -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

/// Starts the reaper thread: it sends `Reaped::Cmd` once CMD is reaped, then `Reaped::All`
/// when no child is left, and counts the other processes it reaped into `others`.
pub fn start_reaper<E: From<Reaped> + Send + 'static>(
    cmd: Pid,
    events: Sender<E>,
    others: Arc<AtomicU64>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            match rustix::process::wait(WaitOptions::empty()) {
                Ok(Some((pid, status))) if pid == cmd => {
                    let status = match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => ChildStatus::Exited(code),
                        (None, Some(sig)) => ChildStatus::Signaled(sig),
                        (None, None) => continue, // stopped / continued: not reported without flags
                    };
                    let _ = events.send(Reaped::Cmd(status).into());
                }
                Ok(Some(_)) => {
                    others.fetch_add(1, Ordering::Relaxed);
                }
                Ok(None) => {}
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => {
                    // ECHILD: nothing left to wait for.
                    let _ = events.send(Reaped::All.into());
                    return;
                }
            }
        })?;
    Ok(())
}

/// Sends `sig` to CMD's process group and to every descendant of ours (found through
/// `/proc` on Linux), which covers those that left the group. Returns how many processes
/// it was sent to: the descendants found (group members among them), or, where descendants
/// cannot be listed, 1 for the group.
pub fn signal_all(group: Pid, sig: Signal) -> usize {
    // Listed first: once the group is signalled, its members start to exit and re-parent.
    let below = descendants();
    let group_signalled = rustix::process::kill_process_group(group, sig).is_ok();
    for &pid in &below {
        // ESRCH is fine: the group's signal may have ended it (and the reaper reaped it).
        let _ = rustix::process::kill_process(pid, sig);
    }
    match below.len() {
        0 => usize::from(group_signalled),
        n => n,
    }
}

/// Every live process below tenure (Linux: from `/proc/*/stat`); empty elsewhere.
pub fn descendants() -> Vec<Pid> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let mut parent_of = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                if let Some(ppid) = parent(pid) {
                    parent_of.push((pid, ppid));
                }
            }
        }
        let mut found = vec![me];
        let mut i = 0;
        while i < found.len() {
            let p = found[i];
            found.extend(
                parent_of
                    .iter()
                    .filter(|&&(_, pp)| pp == p)
                    .map(|&(c, _)| c),
            );
            i += 1;
        }
        found[1..]
            .iter()
            .filter_map(|&p| Pid::from_raw(p))
            .collect()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        Vec::new()
    }
}

/// The parent of `pid` from `/proc/PID/stat` (`pid (comm) state ppid …`; comm may hold
/// spaces and parentheses, so the fields are read after the last `)`).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

/// The usual name of a signal (`SIGTERM`), or `signal N`.
pub fn signal_name(sig: i32) -> String {
    const NAMES: &[(Signal, &str)] = &[
        (Signal::HUP, "SIGHUP"),
        (Signal::INT, "SIGINT"),
        (Signal::QUIT, "SIGQUIT"),
        (Signal::ILL, "SIGILL"),
        (Signal::TRAP, "SIGTRAP"),
        (Signal::ABORT, "SIGABRT"),
        (Signal::BUS, "SIGBUS"),
        (Signal::FPE, "SIGFPE"),
        (Signal::KILL, "SIGKILL"),
        (Signal::USR1, "SIGUSR1"),
        (Signal::SEGV, "SIGSEGV"),
        (Signal::USR2, "SIGUSR2"),
        (Signal::PIPE, "SIGPIPE"),
        (Signal::ALARM, "SIGALRM"),
        (Signal::TERM, "SIGTERM"),
        (Signal::XCPU, "SIGXCPU"),
        (Signal::XFSZ, "SIGXFSZ"),
    ];
    NAMES
        .iter()
        .find(|(s, _)| s.as_raw() == sig)
        .map_or_else(|| format!("signal {sig}"), |(_, n)| (*n).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_codes() {
        assert_eq!(ChildStatus::Exited(3).shell_code(), 3);
        assert_eq!(ChildStatus::Signaled(9).shell_code(), 137);
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(Signal::TERM.as_raw()), "SIGTERM");
        assert_eq!(signal_name(1000), "signal 1000");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn parent_of_self_is_our_parent() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        assert_eq!(parent(me), Some(ppid));
    }
}
