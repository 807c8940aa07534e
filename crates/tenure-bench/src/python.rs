//! CPython peers: the same work, run by `python3` in a subprocess and timed inside Python.
//!
//! A [`Snippet`] is module-level `setup` code and the body of `def op():`, one operation.
//! The driver script below warms up, doubles the loop count until one repetition lasts
//! the requested time, prints that count (`loops N`), then the elapsed nanoseconds of each
//! repetition (`ns T`), measured with `time.perf_counter`. The harness divides each `T` by
//! the same `N`, so both sides are in ns per operation. Interpreter start-up is never
//! timed.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The interpreter to run; `python3` on `PATH`.
const PYTHON: &str = "python3";

/// Times `op()` in repetitions; arguments: warm-up seconds, repetition seconds, count.
const DRIVER: &str = r#"
import sys, time
def _drive(warmup_s, rep_s, reps):
    pc = time.perf_counter
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
    print("loops", loops)
    for _ in range(reps):
        t0 = pc()
        for _ in range(loops):
            op()
        t1 = pc()
        print("ns", int((t1 - t0) * 1e9))
_drive(float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
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

/// Runs `snippet` for `reps` repetitions of about `rep` each after `warmup`, and returns
/// ns per operation for each repetition.
pub fn run(
    snippet: &Snippet,
    warmup: Duration,
    rep: Duration,
    reps: usize,
) -> Result<Vec<f64>, String> {
    let program = snippet.program();
    let out = python_output(&[
        "-c",
        &program,
        &warmup.as_secs_f64().to_string(),
        &rep.as_secs_f64().to_string(),
        &reps.to_string(),
    ])?;
    parse(&out, reps)
}

/// Reads `loops N` then `ns T` lines into ns per operation (`T / N`).
fn parse(out: &str, reps: usize) -> Result<Vec<f64>, String> {
    let mut loops = None;
    let mut samples = Vec::with_capacity(reps);
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("loops", n)) => loops = n.trim().parse::<u64>().ok(),
            Some(("ns", t)) => {
                let n = loops.ok_or("python printed timings before its loop count")?;
                let t: f64 = t
                    .trim()
                    .parse()
                    .map_err(|e| format!("bad timing {t:?}: {e}"))?;
                samples.push(t / n as f64);
            }
            _ => {}
        }
    }
    if samples.len() != reps {
        return Err(format!(
            "expected {reps} timings from python, got {}: {out:?}",
            samples.len()
        ));
    }
    Ok(samples)
}

/// Runs `python3 args…` and returns its stdout, or a reason naming what failed.
fn python_output(args: &[&str]) -> Result<String, String> {
    let out = Command::new(PYTHON)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{PYTHON}` not found on PATH"),
            _ => format!("cannot run `{PYTHON}`: {e}"),
        })?;
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
    fn parses_loops_and_timings() {
        let s = parse("loops 4\nns 400\nns 800\n", 2).unwrap();
        assert_eq!(s, [100.0, 200.0]);
        assert!(parse("ns 1\n", 1).is_err());
        assert!(parse("loops 1\n", 1).is_err());
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
