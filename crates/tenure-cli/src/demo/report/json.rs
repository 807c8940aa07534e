//! The report as one JSON document, with the conventions of `tenure meter --json`: the
//! library's field names, durations as integer nanoseconds `…_ns`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tenure::pool::{Statistics, Status};

use super::{End, Outcome, Summary};

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Every field of the pool's `Status`, as it serializes.
pub fn status_json(st: &Status) -> Value {
    serde_json::to_value(st).expect("a Status serializes")
}

/// Every field of the pool's `Statistics`, as it serializes (durations as counts and
/// quantiles in nanoseconds), with `destroyed.total`.
pub fn statistics_json(s: &Statistics) -> Value {
    let mut v = serde_json::to_value(s).expect("Statistics serialize");
    v["destroyed"]["total"] = s.destroyed.total().into();
    v
}

pub fn json(s: &Summary) -> Value {
    let (status, error, phase) = match &s.end {
        End::Completed => ("completed", None, None),
        End::Failed { phase, error } => ("failed", Some(error.clone()), Some(*phase)),
        End::Interrupted(sig) => ("interrupted", Some(format!("interrupted by {sig}")), None),
        End::CouldNotRun(e) => ("could_not_run", Some(e.clone()), None),
    };
    let files: Vec<Value> = s
        .loads
        .iter()
        .zip(&s.specs)
        .map(|(l, spec)| {
            let (outcome, why, rows, cause) = match &l.outcome {
                Outcome::Committed { rows } => ("committed", None, *rows, None),
                Outcome::RolledBack { why, cause } => {
                    ("rolled_back", Some(why.clone()), 0, Some(cause.name()))
                }
                Outcome::NotLoaded { why } => ("not_loaded", Some(why.clone()), 0, None),
            };
            json!({
                "name": spec.name,
                "rows": spec.rows,
                "valid_rows": spec.valid_rows(),
                "bad_line": spec.bad_line,
                "outcome": outcome,
                "rollback": cause,
                "reason": why,
                "rows_committed": rows,
                "worker": l.worker,
                "duration_ns": ns(l.took),
            })
        })
        .collect();
    let stream = s.streamed.as_ref().map(|q| {
        let mut v = serde_json::to_value(&q.metrics).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "gaps".into(),
                serde_json::to_value(&q.gaps).unwrap_or(Value::Null),
            );
            obj.insert("rows".into(), json!(q.rows));
            obj.insert(
                "export".into(),
                json!(q.export.as_ref().map(|p| p.display().to_string())),
            );
        }
        v
    });
    let kinds: BTreeMap<&String, Value> = s
        .kinds
        .iter()
        .map(|(kind, k)| {
            (
                kind,
                json!({
                    "acquired": k.acquired,
                    "closed": k.closed,
                    "close_failed": k.close_failed,
                    "dropped": k.dropped,
                    "live": k.live(),
                }),
            )
        })
        .collect();
    json!({
        "status": status,
        "failed_phase": phase,
        "error": error,
        "fail_at": s.fail_at,
        "undone": (s.end != End::Completed).then(|| s.undone()),
        "exit_code": s.exit_code,
        "dir": s.dir.as_ref().map(|d| d.display().to_string()),
        "kept": s.kept,
        "dir_removed": s.dir_removed.as_ref().map(|r| r.is_ok()),
        "phases": s.phases.iter().map(|p| json!({
            "name": p.name,
            "duration_ns": ns(p.took),
            "outcome": p.outcome,
        })).collect::<Vec<_>>(),
        "files": files,
        "rows_committed": s.committed_rows(),
        "database": s.database.map(|db| json!({
            "records": db.records,
            "rolled_back_rows": db.rolled_back_rows,
            "loads": db.loads,
        })),
        "workers": { "threads": s.threads, "tasks": s.tasks },
        "pools": s.pools.iter().map(|p| (p.name, json!({
            "status": status_json(&p.status),
            "statistics": p.statistics.as_ref().map(statistics_json),
        }))).collect::<BTreeMap<_, _>>(),
        "stream": stream,
        "ledger": kinds,
        "leaked": s.leaked,
        "cleanup_errors": s.close_errors,
        "checks": s.checks.iter().map(|c| json!({
            "name": c.name,
            "passed": c.passed,
            "detail": c.detail,
        })).collect::<Vec<_>>(),
    })
}
