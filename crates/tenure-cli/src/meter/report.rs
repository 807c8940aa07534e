//! The report: a short table with a picture of the gaps (drawn by [`crate::chart`]), or one
//! JSON object.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::time::Duration;

use serde_json::{json, Value};
use tenure::stream::{Gaps, StreamMetrics, StreamStatus};

use crate::chart::{self, bytes, human, Style};

use super::procs::{signal_name, ChildStatus};

/// Where the report goes.
pub enum Destination {
    Stderr { terminal: bool },
    File(File),
}

/// Why the run ended, beyond what the stream's status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The stream's own end (completed, failed, output closed).
    Stream,
    TimedOut,
    /// By this signal to tenure.
    Interrupted(String),
}

/// What stopping CMD's processes took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Processes sent SIGTERM (every descendant on Linux; elsewhere the group counts as one).
    pub signalled: usize,
    /// SIGKILL was needed after the grace period.
    pub killed: bool,
    /// Processes that could not be stopped.
    pub left: usize,
    /// CMD had exited on its own before: what was stopped is what it left running.
    pub after_exit: bool,
}

/// Everything the report says.
pub struct Summary {
    pub command: Vec<String>,
    pub metered: &'static str,
    pub lines: bool,
    pub pty: bool,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub end: End,
    pub exit_status: Option<ChildStatus>,
    pub exit_code: u8,
    pub released: Released,
    pub reaped_descendants: u64,
    pub stream_open: bool,
    pub subreaper_error: Option<String>,
    pub metrics: StreamMetrics,
    pub gaps: Gaps,
}

pub fn write(to: Destination, as_json: bool, s: &Summary) -> io::Result<()> {
    let (mut out, terminal): (Box<dyn Write>, bool) = match to {
        Destination::Stderr { terminal } => (Box::new(io::stderr().lock()), terminal),
        Destination::File(f) => (Box::new(f), false),
    };
    let text = if as_json {
        let mut j = serde_json::to_string(&to_json(s)).map_err(io::Error::other)?;
        j.push('\n');
        j
    } else {
        table(s, Style::new(terminal))
    };
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The JSON object: the library's `StreamMetrics` fields as they serialise (integer
/// nanoseconds), its `Gaps`, and the run's own fields.
pub fn to_json(s: &Summary) -> Value {
    let mut v = serde_json::to_value(&s.metrics).expect("metrics serialise");
    let ns = |d: Duration| d.as_nanos() as u64;
    let exit_status = match s.exit_status {
        Some(ChildStatus::Exited(code)) => json!({ "code": code }),
        Some(ChildStatus::Signaled(sig)) => json!({ "signal": sig, "name": signal_name(sig) }),
        None => Value::Null,
    };
    let obj = v.as_object_mut().expect("an object");
    let extra = json!({
        "command": s.command,
        "metered": s.metered,
        "unit": if s.lines { "lines" } else { "chunks" },
        "pty": s.pty,
        "pipe": !s.pty,
        "timeout_ns": s.timeout.map(ns),
        "interrupted_by": match &s.end { End::Interrupted(sig) => Some(sig.as_str()), _ => None },
        "gaps": s.gaps,
        "exit_status": exit_status,
        "exit_code": s.exit_code,
        "stopped_processes": s.released.signalled,
        "sigkill_needed": s.released.killed,
        "processes_left": s.released.left,
        "reaped_descendants": s.reaped_descendants,
    });
    for (k, x) in extra.as_object().expect("an object") {
        obj.insert(k.clone(), x.clone());
    }
    v
}

fn quoted(command: &[String]) -> String {
    command
        .iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn exit_text(status: Option<ChildStatus>) -> String {
    match status {
        Some(ChildStatus::Exited(code)) => format!("exited {code}"),
        Some(ChildStatus::Signaled(sig)) => {
            format!("killed by {} (signal {sig})", signal_name(sig))
        }
        None => "status unknown".into(),
    }
}

/// How the run ended, in words: `completed`, `timed out after 2s`, `interrupted by SIGINT`,
/// `output closed`, `failed: …`.
pub fn reason(s: &Summary) -> String {
    match (&s.end, &s.metrics.status) {
        (End::TimedOut, _) => match s.timeout {
            Some(t) => format!("timed out after {}", humantime::format_duration(t)),
            None => "timed out".into(),
        },
        (End::Interrupted(sig), _) => format!("interrupted by {sig}"),
        (End::Stream, StreamStatus::OutputClosed) => "output closed".into(),
        (End::Stream, StreamStatus::Failed { error }) => format!("failed: {error}"),
        (End::Stream, StreamStatus::Completed) => "completed".into(),
        (End::Stream, other) => other.as_str().replace('_', " "),
    }
}

pub fn table(s: &Summary, style: Style) -> String {
    let m = &s.metrics;
    let mut t = String::new();
    let unit = if s.lines { "lines" } else { "reads" };
    let head = format!(
        "tenure meter: {} — `{}` {}",
        reason(s),
        quoted(&s.command),
        exit_text(s.exit_status)
    );
    let _ = writeln!(t, "{}", style.paint("1", &head));
    let row = |t: &mut String, k: &str, v: String| {
        let _ = writeln!(t, "  {}{v}", style.paint("2", &format!("{k:<12}")));
    };
    let metered = format!("{}{}", s.metered, if s.pty { " (pty)" } else { "" });
    row(&mut t, "metered", metered);
    row(
        &mut t,
        "TTFB",
        m.ttfb.map_or_else(|| "- (no output)".into(), human),
    );
    row(&mut t, "total", human(m.total));
    row(
        &mut t,
        unit,
        format!(
            "{}, {} ({}/s, {:.1} {unit}/s)",
            m.chunks,
            bytes(m.bytes as f64),
            bytes(m.throughput),
            m.chunks_per_sec()
        ),
    );
    if let Some(l) = &m.inter_chunk {
        row(
            &mut t,
            "gaps",
            format!(
                "{}: min {}  p50 {}  p90 {}  p99 {}  max {}",
                l.count,
                human(l.min),
                human(l.p50),
                human(l.p90),
                human(l.p99),
                human(l.max)
            ),
        );
        for line in chart::gaps(&s.gaps, style) {
            let _ = writeln!(t, "    {line}");
        }
    }
    let r = &s.released;
    if r.signalled > 0 {
        let how = if r.killed {
            format!(
                "SIGTERM, then SIGKILL after {}",
                humantime::format_duration(s.grace)
            )
        } else {
            "SIGTERM".into()
        };
        let what = if r.after_exit {
            "what CMD left running"
        } else {
            "CMD's process group and descendants"
        };
        row(
            &mut t,
            "stopped",
            format!("{} process(es): {what} ({how})", r.signalled),
        );
    }
    if s.reaped_descendants > 0 {
        row(
            &mut t,
            "reaped",
            format!(
                "{} descendant process(es) besides CMD",
                s.reaped_descendants
            ),
        );
    }
    let mut note = |text: String| {
        let _ = writeln!(t, "  {}", style.paint("33", &format!("note: {text}")));
    };
    if r.left > 0 {
        note(format!("{} process(es) could not be stopped", r.left));
    }
    if s.stream_open {
        note("the stream was still held open by a process outside CMD's tree".into());
    }
    if !s.pty && s.metered == "stdout" {
        note(
            "CMD's stdout was a pipe: most programs (C stdio, Python) block-buffer a pipe, so \
             TTFB and gaps may measure buffer flushes; --pty runs CMD on a pseudo-terminal"
                .into(),
        );
    }
    if let Some(e) = &s.subreaper_error {
        note(format!(
            "could not become a child subreaper ({e}): descendants that left CMD's group are not tracked"
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_the_header() {
        assert_eq!(
            quoted(&["sh".into(), "-c".into(), "echo 'a b'".into()]),
            r"sh -c 'echo '\''a b'\'''"
        );
    }
}
