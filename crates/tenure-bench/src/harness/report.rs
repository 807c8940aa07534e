//! What a comparison is ([`Case`]) and what it produces: a [`Row`] (the JSON line of the
//! benchmark contract, `docs/BENCHMARKS.md`), a [`Scenario`] (counts beside the table), and
//! the table's formatting.

use std::fmt::{self, Display};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::allocs;

/// One comparison to run: bench name, parameters, peer and target ratio.
///
/// ```ignore
/// Case::new("guard", "scopeguard").param("strategy", "always").target(0.95)
/// ```
#[derive(Debug, Clone)]
pub struct Case {
    pub(super) prefix: &'static str,
    pub(super) peer: &'static str,
    /// Parameters that are part of the bench name (`prefix/k=v,k=v`).
    pub(super) named: Vec<(String, String)>,
    /// Every parameter, for the JSON `params` object.
    pub(super) params: Map<String, Value>,
    pub(super) target: Option<f64>,
    pub(super) p99_target: Option<f64>,
    pub(super) max_reps: Option<usize>,
    pub(super) allocs: bool,
}

impl Case {
    /// A comparison of the bench `prefix` (one of the prefixes in `BENCHMARKS.md`) with
    /// `peer` (one of that prefix's peer names).
    pub fn new(prefix: &'static str, peer: &'static str) -> Self {
        Case {
            prefix,
            peer,
            named: Vec::new(),
            params: Map::new(),
            target: None,
            p99_target: None,
            max_reps: None,
            allocs: false,
        }
    }

    /// A parameter that distinguishes this row: it becomes part of the bench name
    /// (`guard/strategy=always`) and of `params`.
    pub fn param(mut self, key: &str, value: impl Display) -> Self {
        let value = value.to_string();
        self.params.insert(key.to_string(), json_value(&value));
        self.named.push((key.to_string(), value));
        self
    }

    /// A parameter reported in `params` only, not in the name (sizes of the canonical
    /// configuration, the interpreter's version…).
    pub fn info(mut self, key: &str, value: impl Display) -> Self {
        self.params
            .insert(key.to_string(), json_value(&value.to_string()));
        self
    }

    /// The ratio (`peer_ns / tenure_ns`) this comparison should reach or beat.
    pub fn target(mut self, ratio: f64) -> Self {
        self.target = Some(ratio);
        self
    }

    /// The largest `p99_ns / peer_p99_ns` this comparison should show (e.g. 1.1: tenure's
    /// p99 at most 1.1 × the peer's). Also recorded in `params` as `p99_target`, and
    /// checked in the table beside the ratio's target.
    pub fn p99_target(mut self, max: f64) -> Self {
        self.p99_target = Some(max);
        self.params
            .insert("p99_target".to_string(), Value::from(max));
        self
    }

    /// Caps the repetitions per side, for operations too slow for the mode's count (the
    /// seed's O(n²) CPython pattern takes ~0.5 s per operation at 16,000 chunks); the
    /// median is then over fewer, longer repetitions.
    pub fn max_reps(mut self, reps: usize) -> Self {
        self.max_reps = Some(reps.max(1));
        self
    }

    /// Also reports allocator calls per operation (`allocs_per_op`, and the peer's in the
    /// table), counted in an untimed pass of each side's loop after the timed repetitions,
    /// when the binary has the counter (feature `allocs`, see [`crate::allocs`]); a no-op
    /// without it. CPython peers are not counted.
    pub fn allocs(mut self) -> Self {
        self.allocs = true;
        self
    }

    /// The bench name: the prefix, then `/k=v,k=v` for the named parameters.
    pub fn name(&self) -> String {
        if self.named.is_empty() {
            return self.prefix.to_string();
        }
        let params: Vec<String> = self.named.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}/{}", self.prefix, params.join(","))
    }
}

/// Numbers stay numbers in JSON; everything else is a string.
fn json_value(s: &str) -> Value {
    if let Ok(i) = s.parse::<i64>() {
        Value::from(i)
    } else if let Ok(b) = s.parse::<bool>() {
        Value::from(b)
    } else {
        Value::from(s)
    }
}

/// One result line: a bench, a peer, both medians (ns per op) and the ratio. Serialises to
/// exactly the JSON line of `docs/BENCHMARKS.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Bench name: prefix, then `/params` for variants.
    pub bench: String,
    /// Peer name, exactly as listed in `BENCHMARKS.md`.
    pub peer: String,
    /// tenure's median, in ns per operation.
    pub tenure_ns: f64,
    /// The peer's median, in ns per operation.
    pub peer_ns: f64,
    /// `peer_ns / tenure_ns`: above 1 means tenure is faster.
    pub ratio: f64,
    /// tenure's 99th percentile across repetitions, in ns per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ns: Option<f64>,
    /// The peer's 99th percentile across repetitions, in ns per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_p99_ns: Option<f64>,
    /// Every parameter of the comparison, named or not.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// The ratio this comparison should reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// tenure's allocator calls per operation (`alloc`, `alloc_zeroed`, `realloc`), from
    /// an untimed pass; only for cases marked [`Case::allocs`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocs_per_op: Option<f64>,
    /// The peer's, counted the same way. In the table only: the JSON line of
    /// `BENCHMARKS.md` has no field for it.
    #[serde(skip)]
    pub peer_allocs_per_op: Option<f64>,
    /// The largest `p99_ns / peer_p99_ns` wanted ([`Case::p99_target`]); in the JSON line
    /// it is `params.p99_target`.
    #[serde(skip)]
    pub p99_target: Option<f64>,
}

impl Row {
    /// Whether the ratio reaches the target (`None` without a target).
    pub fn passes(&self) -> Option<bool> {
        self.target.map(|t| self.ratio >= t)
    }

    /// `p99_ns / peer_p99_ns`, when both are known.
    pub fn p99_ratio(&self) -> Option<f64> {
        match (self.p99_ns, self.peer_p99_ns) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }

    /// Whether tenure's p99 is within the p99 target (`None` without one, or without both
    /// p99s).
    pub fn passes_p99(&self) -> Option<bool> {
        let max = self.p99_target?;
        self.p99_ratio().map(|r| r <= max)
    }
}

/// A result that is mostly counts, not one timing (a pool scenario), reported beside the
/// table: in a table run, one `scenario name: k=v, …` line; with `--json`, a line of the
/// contract's shape — `bench` (`pool/scenario=cancel_storm`), `peer`, `tenure_ns` /
/// `peer_ns` (the scenario's headline time, named in `params.headline`), `ratio` (peer /
/// tenure) — with every count in `params`.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// The scenario's name (`pool/scenario=cancel_storm`); the filter applies to it.
    pub bench: String,
    /// The peer it is compared with.
    pub peer: String,
    /// tenure's headline time, ns.
    pub tenure_ns: f64,
    /// The peer's headline time, ns.
    pub peer_ns: f64,
    /// `peer_ns / tenure_ns`.
    pub ratio: f64,
    /// What the headline time is, and every count.
    pub params: Map<String, Value>,
}

/// `x` to three decimals, as every ratio is reported.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Nanoseconds with a unit that keeps three or four significant digits.
struct Ns(f64);

impl Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let s = if ns < 10.0 {
            format!("{ns:.2} ns")
        } else if ns < 1_000.0 {
            format!("{ns:.1} ns")
        } else if ns < 1_000_000.0 {
            format!("{:.2} µs", ns / 1e3)
        } else {
            format!("{:.2} ms", ns / 1e6)
        };
        f.pad(&s)
    }
}

/// [`Ns`], or `—` when there is no figure (a pool row without latencies).
struct OptNs(Option<f64>);

impl Display for OptNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ns) => Ns(ns).fmt(f),
            None => f.pad("—"),
        }
    }
}

/// Allocator calls per operation for the table: whole numbers as such, blank if uncounted.
struct Allocs(Option<f64>);

impl Display for Allocs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.pad(""),
            Some(n) if n.fract() == 0.0 => f.pad(&format!("{n:.0}")),
            Some(n) => f.pad(&format!("{n:.2}")),
        }
    }
}

pub(super) struct TableHeader;

impl Display for TableHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<40} {:<15} {:>10} {:>10} {:>10} {:>10} {:>8}  ",
            "bench", "peer", "tenure", "p99", "peer", "peer p99", "ratio"
        )?;
        // The allocation columns only in a build that counts (feature `allocs`).
        if allocs::ENABLED {
            write!(f, "{:<11} {:>8} {:>8}", "target", "allocs", "peer al.")
        } else {
            write!(f, "{:<6}", "target")
        }
    }
}

pub(super) struct TableRow<'r>(pub(super) &'r Row);

impl Display for TableRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let target = match (r.target, r.passes()) {
            (Some(t), Some(true)) => format!("≥{t:<5} pass"),
            (Some(t), _) => format!("≥{t:<5} MISS"),
            (None, _) => String::new(),
        };
        write!(
            f,
            "{:<40} {:<15} {:>10} {:>10} {:>10} {:>10} {:>7.3}x  ",
            r.bench,
            r.peer,
            Ns(r.tenure_ns),
            OptNs(r.p99_ns),
            Ns(r.peer_ns),
            OptNs(r.peer_p99_ns),
            r.ratio,
        )?;
        if allocs::ENABLED {
            let (a, b) = (Allocs(r.allocs_per_op), Allocs(r.peer_allocs_per_op));
            write!(f, "{target:<11} {a:>8} {b:>8}")?;
        } else {
            write!(f, "{target:<11}")?;
        }
        // A p99 target (pool rows): tenure's p99 / the peer's, against the largest wanted.
        match (r.p99_target, r.p99_ratio(), r.passes_p99()) {
            (Some(t), Some(x), Some(true)) => write!(f, "  p99 {x:.2}x ≤{t} pass"),
            (Some(t), Some(x), _) => write!(f, "  p99 {x:.2}x ≤{t} MISS"),
            (Some(t), None, _) => write!(f, "  p99 ≤{t} (no p99)"),
            (None, ..) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_named_params_only() {
        let c = Case::new("stack", "vec_box_fnonce").info("callbacks", 1000);
        assert_eq!(c.name(), "stack");
        let c = Case::new("guard", "scopeguard")
            .param("strategy", "on_failure")
            .param("defused", true);
        assert_eq!(c.name(), "guard/strategy=on_failure,defused=true");
        assert_eq!(c.params["defused"], Value::Bool(true));
    }
}
