//! Spawning CMD: its own process group, the metered stream on a pipe or a pseudo-terminal,
//! the other stream inherited, and the stdin policy.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use rustix::process::Pid;
use rustix::pty::OpenptFlags;
use rustix::termios::{self, OptionalActions, OutputModes};

/// Which of CMD's streams is metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Stdout,
    Stderr,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Stdout => "stdout",
            Which::Stderr => "stderr",
        }
    }
}

/// A running CMD: its pid (also its process group) and the read end of its metered stream.
pub struct Spawned {
    pub pid: Pid,
    pub output: File,
}

/// Why CMD could not be started, with the exit code a shell would give.
#[derive(Debug)]
pub enum SpawnError {
    NotFound,
    NotExecutable(io::Error),
    Other(io::Error),
}

impl SpawnError {
    fn from_io(e: io::Error) -> Self {
        const ENOEXEC: i32 = 8; // the same on Linux, macOS and the BSDs
        match e.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound,
            io::ErrorKind::PermissionDenied => SpawnError::NotExecutable(e),
            _ if e.raw_os_error() == Some(ENOEXEC) => SpawnError::NotExecutable(e),
            _ => SpawnError::Other(e),
        }
    }
}

/// Starts `cmd` in a new process group (its pid is the group's id).
///
/// Stdin: ours when it is not a terminal, else `/dev/null` — a process group other than the
/// terminal's foreground group that reads the terminal is stopped by SIGTTIN.
///
/// With `pty`, the metered stream is the slave side of a new pseudo-terminal, not made
/// CMD's controlling terminal (no `setsid`, so CMD stays in the group we stop): `isatty`
/// is true on it, which is what makes programs line-buffer. Output post-processing is off, so
/// bytes arrive as written (`\n` stays `\n`).
pub fn spawn(cmd: &[OsString], which: Which, pty: bool) -> Result<Spawned, SpawnError> {
    let (program, args) = cmd.split_first().expect("clap requires CMD");
    let mut command = Command::new(program);
    command.args(args).process_group(0);
    if termios::isatty(rustix::stdio::stdin()) {
        command.stdin(Stdio::null());
    }
    let (master, slave): (Option<File>, Stdio) = if pty {
        let (master, slave) = open_pty().map_err(SpawnError::Other)?;
        (Some(master), slave.into())
    } else {
        (None, Stdio::piped())
    };
    match which {
        Which::Stdout => command.stdout(slave),
        Which::Stderr => command.stderr(slave),
    };
    let mut child = command.spawn().map_err(SpawnError::from_io)?;
    // `command` still holds our copy of the pty's slave side: drop it, or reading the master
    // would never see the end of the stream.
    drop(command);
    let pid = Pid::from_child(&child);
    let output = match master {
        Some(master) => master,
        None => {
            let fd: OwnedFd = match which {
                Which::Stdout => child.stdout.take().expect("piped").into(),
                Which::Stderr => child.stderr.take().expect("piped").into(),
            };
            File::from(fd)
        }
    };
    // `child` is dropped without waiting: the reaper (`procs`) waits for every child of ours.
    Ok(Spawned { pid, output })
}

/// A new pseudo-terminal: (master, slave), the slave without output processing and with our
/// terminal's window size when we have one.
fn open_pty() -> io::Result<(File, File)> {
    let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))?;
    let mut tio = termios::tcgetattr(&slave)?;
    tio.output_modes.remove(OutputModes::OPOST);
    termios::tcsetattr(&slave, OptionalActions::Now, &tio)?;
    let ours = [
        termios::tcgetwinsize(rustix::stdio::stdout()),
        termios::tcgetwinsize(rustix::stdio::stderr()),
    ];
    if let Some(size) = ours.into_iter().flatten().find(|w| w.ws_col > 0) {
        termios::tcsetwinsize(&slave, size)?;
    }
    Ok((File::from(master), slave))
}
