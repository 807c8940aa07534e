//! The report as a table for a reader: a terminal (coloured when it is one) or a pipe.

use std::fmt::Write as _;

use tenure::pool::Durations;

use super::{files, End, Outcome, Summary};
use crate::chart::{self, bytes, human, Bucket, Style};

/// The pool's wait times as chart buckets.
pub fn wait_buckets(d: &Durations) -> Vec<Bucket> {
    d.buckets()
        .into_iter()
        .map(|b| Bucket {
            low: b.low,
            high: b.high,
            count: b.count,
        })
        .collect()
}

fn spread(d: &Durations) -> String {
    format!(
        "{}: mean {}  p50 {}  p90 {}  p99 {}  max {}",
        d.count,
        human(d.mean()),
        human(d.p50()),
        human(d.quantile(0.9)),
        human(d.p99()),
        human(d.max)
    )
}

pub fn table(s: &Summary, style: Style) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", style.paint("1", &s.headline()));
    let row = |t: &mut String, k: &str, v: &str| {
        let _ = writeln!(t, "  {}{v}", style.paint("2", &format!("{k:<12}")));
    };
    match &s.end {
        End::Failed { phase, error } => row(&mut t, "failed", &format!("{phase}: {error}")),
        End::CouldNotRun(e) => row(&mut t, "error", e),
        End::Interrupted(sig) => row(
            &mut t,
            "interrupted",
            &format!("{sig}: open transactions rolled back, everything released"),
        ),
        End::Completed => {}
    }
    if let Some(p) = s.fail_at {
        row(&mut t, "injected", &format!("--fail-at {p}"));
    }
    if s.end != End::Completed {
        row(&mut t, "undone", &s.undone());
    }
    if let Some(dir) = &s.dir {
        let fate = match &s.dir_removed {
            Some(Ok(())) => "removed".to_string(),
            Some(Err(e)) => format!("NOT removed: {e}"),
            None => "kept".to_string(),
        };
        row(&mut t, "work dir", &format!("{} ({fate})", dir.display()));
    }
    let phases: Vec<String> = s
        .phases
        .iter()
        .map(|p| {
            let failed = if p.outcome == "success" {
                ""
            } else {
                " (failed)"
            };
            format!("{} {}{failed}", p.name, human(p.took))
        })
        .collect();
    if !phases.is_empty() {
        row(&mut t, "phases", &phases.join("  "));
    }
    row(
        &mut t,
        "job",
        &format!(
            "{} × {} rows; {} sharing the writer, one transaction per file",
            files(s.files),
            s.rows_per_file,
            workers(s.threads, s.tasks),
        ),
    );
    for (load, spec) in s.loads.iter().zip(&s.specs) {
        let what = match &load.outcome {
            Outcome::Committed { rows } => format!("committed    {rows} rows"),
            Outcome::RolledBack { why, .. } => format!("rolled back  {why}"),
            Outcome::NotLoaded { why } => format!("not loaded   {why}"),
        };
        let by = if load.worker == "-" {
            String::new()
        } else {
            format!("  [{}, {}]", load.worker, human(load.took))
        };
        let _ = writeln!(t, "    {}  {what}{by}", spec.name);
    }
    if let Some(db) = &s.database {
        let rolled: u64 = s
            .loads
            .iter()
            .zip(&s.specs)
            .filter(|(l, _)| matches!(l.outcome, Outcome::RolledBack { .. }))
            .map(|(_, spec)| spec.rows)
            .sum();
        row(
            &mut t,
            "rows",
            &format!(
                "{} committed ({} in the database); {rolled} in rolled-back files",
                s.committed_rows(),
                db.records
            ),
        );
    }
    for pool in &s.pools {
        let st = &pool.status;
        let head = match pool.name {
            "readers" => "reader pool".to_string(),
            name => format!("{name} pool"),
        };
        let now = format!("{st}; size {} (after the job)", st.size);
        let Some(stats) = &pool.statistics else {
            row(&mut t, &head, &now);
            continue;
        };
        let acquires = format!(
            "{} at once, {} waited, {} timed out, {} refused",
            stats.acquired_direct, stats.acquired_waited, stats.timeouts, stats.refused
        );
        let mut connections = format!(
            "{} created ({} failed), {} closed ({} close failures)",
            stats.created,
            stats.create_failures,
            stats.destroyed.total(),
            stats.close_failures,
        );
        // What a clean run never shows: said only when it happened.
        for (n, what) in [
            (stats.abandoned, "pool work abandoned past its bound"),
            (stats.detached, "detached"),
            (stats.leaks, "held past the leak threshold"),
        ] {
            if n > 0 {
                let _ = write!(connections, ", {n} {what}");
            }
        }
        if pool.name != "writer" {
            row(&mut t, &head, &format!("{now}; {acquires}; {connections}"));
            continue;
        }
        row(&mut t, &head, &now);
        row(&mut t, "acquires", &acquires);
        row(&mut t, "connections", &connections);
        row(&mut t, "hold", &spread(&stats.hold_time));
        row(&mut t, "wait", &spread(&stats.wait_time));
        let w = &stats.wait_time;
        for line in chart::histogram(&wait_buckets(w), w.min, w.max, style) {
            let _ = writeln!(t, "    {line}");
        }
    }
    if let Some(q) = &s.streamed {
        let m = &q.metrics;
        row(
            &mut t,
            "stream",
            &format!(
                "{}: {} rows, {} in {} (TTFB {}; {}/s)",
                m.status,
                m.chunks,
                bytes(m.bytes as f64),
                human(m.total),
                m.ttfb.map_or_else(|| "-".into(), human),
                bytes(m.throughput)
            ),
        );
        if let Some(l) = &m.inter_chunk {
            row(
                &mut t,
                "row gaps",
                &format!(
                    "p50 {}  p90 {}  p99 {}  max {}",
                    human(l.p50),
                    human(l.p90),
                    human(l.p99),
                    human(l.max)
                ),
            );
        }
        if let Some(export) = &q.export {
            let name = export.file_name().unwrap_or_default().to_string_lossy();
            row(&mut t, "export", &name);
        }
    }
    let kinds: Vec<String> = s
        .kinds
        .iter()
        .map(|(kind, k)| {
            let mut text = format!("{kind} {}/{} closed", k.closed, k.acquired);
            if k.close_failed > 0 {
                let _ = write!(text, " ({} close failed)", k.close_failed);
            }
            if k.dropped > 0 {
                let _ = write!(text, " ({} dropped unclosed)", k.dropped);
            }
            if k.live() > 0 {
                let _ = write!(text, " ({} LIVE)", k.live());
            }
            text
        })
        .collect();
    row(
        &mut t,
        "ledger",
        &format!(
            "{}; leaked: {}",
            if kinds.is_empty() {
                "nothing acquired".to_string()
            } else {
                kinds.join(", ")
            },
            s.leaked
        ),
    );
    for e in &s.close_errors {
        row(&mut t, "cleanup", e);
    }
    for (i, c) in s.checks.iter().enumerate() {
        let mark = if c.passed {
            style.paint("32", "ok")
        } else {
            style.paint("31", "FAILED")
        };
        let key = if i == 0 { "checks" } else { "" };
        row(&mut t, key, &format!("{mark}  {}: {}", c.name, c.detail));
    }
    t
}

fn workers(threads: usize, tasks: usize) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (threads, tasks) {
        (t, 0) => format!("{} (threads)", plural(t, "worker")),
        (0, k) => format!("{} (tasks)", plural(k, "worker")),
        (t, k) => format!(
            "{} ({}, {})",
            plural(t + k, "worker"),
            plural(k, "async task"),
            plural(t, "thread")
        ),
    }
}
