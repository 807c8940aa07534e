//! CPython peers: the same work, run by `python3` in a subprocess and timed inside Python.
//!
//! A [`Snippet`] is module-level `setup` code and the body of `def op():`, one operation.
//! [`Peer::start`] runs it under the driver below, which warms up, doubles its loop count
//! until one repetition lasts the requested time and prints that count (`loops N`); then,
//! each time the harness writes `rep`, it runs one repetition and prints its elapsed
//! nanoseconds (`ns T`), measured with the clock the comparison is timed by:
//! `time.thread_time` (the thread's CPU time, as the harness's `op` sides) or
//! `time.perf_counter` (wall time; see the harness's engine). The harness divides each `T`
//! by the same `N`, so both sides are in ns per operation, and it alternates Python's
//! repetitions with tenure's (A B A B …) while the other side waits. Interpreter start-up
//! is never timed.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The interpreter to run; `python3` on `PATH`.
const PYTHON: &str = "python3";

/// Calibrates and warms up `op()`, then times one repetition per `rep` line on stdin.
/// Arguments: warm-up seconds, repetition seconds, the `time` function that times them.
const DRIVER: &str = r#"
import sys, time
def _drive(warmup_s, rep_s, clock):
    pc = getattr(time, clock)
    loops = 1
    while True:
        t0 = pc()
        for _ in range(loops):
            op()
        if pc() - t0 >= rep_s:
            break
        loops *= 2
    end = pc() + warmup_s
    while pc() < end:
        for _ in range(loops):
            op()
    print("loops", loops, flush=True)
    while sys.stdin.readline().strip() == "rep":
        t0 = pc()
        for _ in range(loops):
            op()
        t1 = pc()
        print("ns", int((t1 - t0) * 1e9), flush=True)
_drive(float(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
"#;

/// One operation in Python: module-level `setup`, then `op`, the body of `def op():`.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// Module-level code run once (imports, shared state).
    pub setup: String,
    /// The body of `def op():`, one operation; written without indentation.
    pub op: String,
}

impl Snippet {
    /// The whole program: setup, `op`, then the driver.
    fn program(&self) -> String {
        let body: String = self.op.lines().map(|l| format!("    {l}\n")).collect();
        format!("{}\ndef op():\n{body}\n{DRIVER}", self.setup)
    }
}

/// The interpreter's version (`3.11.7`), or why CPython rows cannot run.
pub fn version() -> Result<String, String> {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out =
                python_output(&["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])?;
            Ok(out.trim().to_string())
        })
        .clone()
}

/// A running CPython peer, ready to time repetitions of its snippet.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    loops: u64,
}

impl Peer {
    /// Starts `python3` on `snippet`; returns once it has warmed up for `warmup` and
    /// calibrated repetitions of about `rep`, both by `clock` (`thread_time` or
    /// `perf_counter`, a function of Python's `time` module).
    pub fn start(
        snippet: &Snippet,
        warmup: Duration,
        rep: Duration,
        clock: &str,
    ) -> Result<Peer, String> {
        let mut child = Command::new(PYTHON)
            .arg("-c")
            .arg(snippet.program())
            .arg(warmup.as_secs_f64().to_string())
            .arg(rep.as_secs_f64().to_string())
            .arg(clock)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`{PYTHON}` started without pipes"));
        };
        let mut peer = Peer {
            child,
            stdin: Some(stdin),
            stdout,
            loops: 0,
        };
        let line = peer.line()?;
        peer.loops = parse_field(&line, "loops")?;
        if peer.loops == 0 {
            return Err(format!("`{PYTHON}` reported zero loops"));
        }
        Ok(peer)
    }

    /// Times one repetition in Python: the operations it ran and how long they took.
    pub fn rep(&mut self) -> Result<(u64, Duration), String> {
        let stdin = self.stdin.as_mut().ok_or("the python peer was closed")?;
        writeln!(stdin, "rep")
            .and_then(|()| stdin.flush())
            .map_err(|e| self.failure(&format!("cannot write to `{PYTHON}`: {e}")))?;
        let line = self.line()?;
        let ns: u64 = parse_field(&line, "ns")?;
        Ok((self.loops, Duration::from_nanos(ns)))
    }

    /// The next line of the driver's output; on EOF, what Python said on stderr.
    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(self.failure("exited early")),
            Ok(_) => Ok(line),
            Err(e) => Err(self.failure(&format!("unreadable output: {e}"))),
        }
    }

    /// Stops the child and describes the failure with its stderr.
    fn failure(&mut self, what: &str) -> String {
        self.stdin = None;
        let _ = self.child.kill();
        let status = self.child.wait();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = status.map(|s| s.to_string()).unwrap_or_default();
        format!("`{PYTHON}` {what} ({status}): {}", stderr.trim())
    }
}

impl Drop for Peer {
    /// Closing stdin ends the driver's loop; then reap the child.
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.wait();
    }
}

/// Reads `KEY VALUE` into `VALUE`.
fn parse_field<T: std::str::FromStr>(line: &str, key: &str) -> Result<T, String> {
    match line.trim().split_once(' ') {
        Some((k, v)) if k == key => v
            .parse()
            .map_err(|_| format!("python printed a bad {key}: {line:?}")),
        _ => Err(format!("expected `{key} N` from python, got {line:?}")),
    }
}

fn spawn_error(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{PYTHON}` not found on PATH"),
        _ => format!("cannot run `{PYTHON}`: {e}"),
    }
}

/// Runs `python3 args…` and returns its stdout, or a reason naming what failed.
fn python_output(args: &[&str]) -> Result<String, String> {
    let out = Command::new(PYTHON)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(spawn_error)?;
    if !out.status.success() {
        return Err(format!(
            "`{PYTHON}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("`{PYTHON}` printed non-UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields() {
        assert_eq!(parse_field::<u64>("loops 4\n", "loops"), Ok(4));
        assert!(parse_field::<u64>("ns 4", "loops").is_err());
        assert!(parse_field::<u64>("loops x", "loops").is_err());
    }

    #[test]
    fn a_failing_snippet_reports_pythons_error() {
        if version().is_err() {
            return;
        }
        let bad = Snippet {
            setup: String::new(),
            op: "raise ValueError('boom')".into(),
        };
        let err = Peer::start(&bad, Duration::ZERO, Duration::ZERO, "thread_time").unwrap_err();
        assert!(err.contains("ValueError: boom"), "{err}");
    }

    #[test]
    fn program_indents_the_operation() {
        let p = Snippet {
            setup: "x = [0]".into(),
            op: "x[0] += 1\nreturn x".into(),
        }
        .program();
        assert!(p.contains("def op():\n    x[0] += 1\n    return x\n"));
    }
}
