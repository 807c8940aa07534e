//! One run of `tenure meter`: start CMD, wait for what ends the run, release every process,
//! report, and pick the exit code.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tenure::stream::{Meter, StreamStatus};

use super::child::{self, SpawnError, Which};
use super::procs::{self, ChildStatus, Reaped};
use super::pump::{self, PumpEnd, SharedMeter, Sink, Units};
use super::report::{self, Destination, End, Released, Summary};
use super::{code, Args};

/// Everything the run waits for arrives on one channel.
#[derive(Debug)]
enum Event {
    Reaped(Reaped),
    Pump(PumpEnd),
    Signal(i32),
}

impl From<Reaped> for Event {
    fn from(r: Reaped) -> Self {
        Event::Reaped(r)
    }
}

impl From<PumpEnd> for Event {
    fn from(p: PumpEnd) -> Self {
        Event::Pump(p)
    }
}

/// What ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// CMD exited and its stream ended.
    Finished,
    TimedOut,
    Interrupted(i32),
    OutputClosed,
    /// tenure failed: writing our output (other than a broken pipe), starting a thread.
    Failed,
}

/// What has been seen so far.
struct State {
    rx: Receiver<Event>,
    group: Pid,
    cmd: Option<ChildStatus>,
    all_reaped: bool,
    pump: Option<PumpEnd>,
    signal: Option<i32>,
    /// Signals received so far: one more while stopping skips the rest of the grace period.
    signals: u32,
}

impl State {
    fn handle(&mut self, event: Event) {
        match event {
            Event::Reaped(Reaped::Cmd(status)) => self.cmd = Some(status),
            Event::Reaped(Reaped::All) => self.all_reaped = true,
            Event::Pump(end) => self.pump = Some(end),
            Event::Signal(sig) => {
                self.signal.get_or_insert(sig);
                self.signals += 1;
            }
        }
    }

    /// Takes in events until `done` holds or `deadline` passes.
    fn wait_until(&mut self, deadline: Instant, done: impl Fn(&State) -> bool) {
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Waits for what ends the run.
    fn wait_for_stop(&mut self, deadline: Option<Instant>) -> Stop {
        loop {
            if let Some(sig) = self.signal {
                return Stop::Interrupted(sig);
            }
            match self.pump {
                Some(PumpEnd::OutputClosed) => return Stop::OutputClosed,
                Some(PumpEnd::WriteFailed(_)) => return Stop::Failed,
                Some(_) if self.cmd.is_some() => return Stop::Finished,
                _ => {}
            }
            if self.all_reaped && self.pump.is_none() {
                // Nothing of CMD's is left, yet the stream is open: held by a process that
                // escaped us. Give it a moment to close, then end without it.
                self.wait_until(Instant::now() + Duration::from_secs(1), |s| {
                    s.pump.is_some()
                });
                return Stop::Finished;
            }
            let event = match deadline {
                Some(d) => match self
                    .rx
                    .recv_timeout(d.saturating_duration_since(Instant::now()))
                {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => return Stop::TimedOut,
                    Err(RecvTimeoutError::Disconnected) => return Stop::Finished,
                },
                None => match self.rx.recv() {
                    Ok(event) => event,
                    Err(_) => return Stop::Finished,
                },
            };
            self.handle(event);
        }
    }

    /// Stops and reaps whatever of CMD is still running: SIGTERM (and SIGCONT, for stopped
    /// ones) to the group and every descendant, then SIGKILL after `grace`, until the reaper
    /// has no child left.
    fn release(&mut self, grace: Duration) -> Released {
        let mut released = Released {
            after_exit: self.cmd.is_some(),
            ..Released::default()
        };
        if self.cmd.is_some() && !self.all_reaped {
            // CMD is gone: let the reaper say whether anything is left before signalling.
            self.wait_until(Instant::now() + Duration::from_millis(100), |s| {
                s.all_reaped
            });
        }
        if self.all_reaped {
            return released;
        }
        released.signalled = procs::signal_all(self.group, Signal::TERM);
        procs::signal_all(self.group, Signal::CONT);
        let signals = self.signals;
        self.wait_until(Instant::now() + grace, |s| {
            s.all_reaped || s.signals > signals
        });
        // SIGKILL cannot be caught; a few rounds cover processes forked meanwhile.
        for _ in 0..50 {
            if self.all_reaped {
                break;
            }
            released.killed = true;
            procs::signal_all(self.group, Signal::KILL);
            self.wait_until(Instant::now() + Duration::from_millis(100), |s| {
                s.all_reaped
            });
        }
        if !self.all_reaped {
            released.left = procs::descendants().len().max(1);
        }
        released
    }
}

/// Should tenure itself panic mid-run, CMD's processes are killed on the way out rather than
/// left running (they cannot be reaped then: orphans go to init as tenure exits).
struct KillOnPanic(Pid);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            procs::signal_all(self.0, Signal::KILL);
        }
    }
}

/// Shell-like text of the command, for messages.
fn command_text(cmd: &[OsString]) -> Vec<String> {
    cmd.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

pub fn run(args: Args) -> u8 {
    let which = if args.stderr {
        Which::Stderr
    } else {
        Which::Stdout
    };
    let command = command_text(&args.cmd);
    let program = command[0].clone();
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("tenure meter: {what}: {e}");
        code::FAILED
    };

    // The report's destination first: a bad --report path fails before CMD runs.
    let destination = match &args.report {
        Some(path) => match File::create(path) {
            Ok(f) => Destination::File(f),
            Err(e) => {
                return fail(
                    &format!("cannot write the report to {}", path.display()),
                    &e,
                )
            }
        },
        None => Destination::Stderr {
            terminal: io::stderr().is_terminal(),
        },
    };
    let subreaper = procs::become_subreaper();

    let (tx, rx) = mpsc::channel::<Event>();
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => return fail("cannot handle signals", &e),
    };
    {
        let tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if tx.send(Event::Signal(sig)).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            return fail("cannot start a thread", &e);
        }
    }

    // Time starts as CMD is started.
    let meter: SharedMeter = Arc::new(Mutex::new(
        Meter::new(Units::default()).name(format!("{} of {program}", which.name())),
    ));
    let started = Instant::now();
    let spawned = match child::spawn(&args.cmd, which, args.pty) {
        Ok(s) => s,
        Err(SpawnError::NotFound) => {
            eprintln!("tenure meter: {program}: command not found");
            return code::NOT_FOUND;
        }
        Err(SpawnError::NotExecutable(e)) => {
            eprintln!("tenure meter: {program}: cannot execute: {e}");
            return code::NOT_EXECUTABLE;
        }
        Err(SpawnError::Other(e)) => return fail(&format!("cannot start {program}"), &e),
    };
    let _kill_on_panic = KillOnPanic(spawned.pid);
    let mut state = State {
        rx,
        group: spawned.pid,
        cmd: None,
        all_reaped: false,
        pump: None,
        signal: None,
        signals: 0,
    };

    let reaped_others = Arc::new(AtomicU64::new(0));
    let started_threads = procs::start_reaper(spawned.pid, tx.clone(), reaped_others.clone())
        .and_then(|()| {
            let sink = match (args.quiet, which) {
                (true, _) => Sink::Drop,
                (false, Which::Stdout) => Sink::Stdout,
                (false, Which::Stderr) => Sink::Stderr,
            };
            let (input, pty, lines, meter, tx) = (
                spawned.output,
                args.pty,
                args.lines,
                meter.clone(),
                tx.clone(),
            );
            std::thread::Builder::new()
                .name("pump".into())
                .spawn(move || pump::pump(input, pty, lines, sink, meter, tx))
                .map(drop)
        });
    drop(tx);

    let stop = match started_threads {
        Ok(()) => state.wait_for_stop(args.timeout.map(|d| started + d)),
        Err(e) => {
            eprintln!("tenure meter: cannot start a thread: {e}");
            Stop::Failed
        }
    };
    match stop {
        Stop::TimedOut => pump::lock(&meter).stop(StreamStatus::TimedOut),
        Stop::Interrupted(_) => pump::lock(&meter).stop(StreamStatus::Interrupted),
        // The pump stopped the meter itself; a finished stream ended on its own.
        Stop::OutputClosed | Stop::Failed | Stop::Finished => {}
    }
    let released = state.release(args.grace);
    // Once nothing of CMD's is left, the stream's end follows at once (unless a process
    // outside CMD's tree holds it open: then we go without it).
    state.wait_until(Instant::now() + Duration::from_secs(2), |s| {
        s.pump.is_some()
    });

    let (metrics, gaps) = {
        let m = pump::lock(&meter);
        (m.metrics(), m.gaps())
    };
    let exit_code = match stop {
        Stop::Finished => state.cmd.map_or(code::FAILED, ChildStatus::shell_code),
        Stop::TimedOut => code::TIMED_OUT,
        Stop::Interrupted(_) => code::INTERRUPTED,
        Stop::OutputClosed => code::OUTPUT_CLOSED,
        Stop::Failed => code::FAILED,
    };
    if let Some(PumpEnd::WriteFailed(e)) = &state.pump {
        eprintln!("tenure meter: writing our output: {e}");
    }
    let summary = Summary {
        command,
        metered: which.name(),
        lines: args.lines,
        pty: args.pty,
        timeout: args.timeout,
        grace: args.grace,
        end: match stop {
            Stop::Finished | Stop::OutputClosed | Stop::Failed => End::Stream,
            Stop::TimedOut => End::TimedOut,
            Stop::Interrupted(sig) => End::Interrupted(procs::signal_name(sig)),
        },
        exit_status: state.cmd,
        exit_code,
        released,
        reaped_descendants: reaped_others.load(Ordering::Relaxed),
        stream_open: state.pump.is_none(),
        subreaper_error: subreaper.err().map(|e| e.to_string()),
        metrics,
        gaps,
    };
    if let Err(e) = report::write(destination, args.json, &summary) {
        // A report that cannot be written is our failure, unless the run already has a code
        // of its own that says more.
        if exit_code == 0 {
            return fail("cannot write the report", &e);
        }
    }
    let _ = io::stdout().flush();
    exit_code
}
