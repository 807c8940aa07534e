//! `meter`: metering an in-memory stream of 16-byte chunks, against the un-metered loop and
//! the seed's CPython `stream_with_metrics`.
//!
//! One operation iterates 1,000 chunks of 16 bytes (`&str` slices of one buffer), passing
//! each through [`black_box`] and adding up their lengths. Rows:
//!
//! - `meter/clock=tsc` vs `plain`: through [`tenure::stream::Meter`] with the default TSC
//!   clock (`quanta`), created and dropped inside the operation (its end-of-stream
//!   `tracing` event finds no subscriber, as in a service that does not log at INFO),
//!   against the same loop without a meter. The bench prints the overhead in ns per chunk
//!   (target ≤ 15 ns) beside the machine's cost of one clock read, measured just before.
//! - `meter/clock=instant` vs `plain`: the same with [`tenure::clock::InstantClock`]
//!   (`std::time::Instant`), the portable fallback.
//! - `meter/clock=tsc` vs `cpython` (target ≥ 5): the seed's `stream_with_metrics`
//!   generator as written (one `perf_counter()` at the start, one at the first chunk, one at
//!   the end; `len(chunk.encode())` per chunk), consumed the same way, in `python3`.
//!
//! Peer configuration: the plain loop does exactly the consumer's work and nothing else.

use std::hint::black_box;
use std::time::Instant;

use tenure::clock::{Clock, InstantClock, TscClock};
use tenure::stream::Meter;

use crate::harness::{cpython, op, Case, Harness};
use crate::python::Snippet;

/// Chunks per operation.
const CHUNKS: usize = 1_000;
/// Bytes per chunk, as in `BENCHMARKS.md`.
const SIZE: usize = 16;

/// Runs the `meter` comparisons.
pub fn run(h: &mut Harness) {
    let n = h.size(CHUNKS);
    let text: String = (0..n * SIZE)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let chunks: Vec<&str> = (0..n).map(|i| &text[i * SIZE..(i + 1) * SIZE]).collect();
    let tsc = TscClock::new();
    let instant = InstantClock::new();
    let reads = h.size(1_000_000);
    let tsc_read = clock_read_ns(&tsc, reads);
    let instant_read = instant_now_ns(reads);

    let plain = |chunks: &[&str]| {
        let mut total = 0;
        for c in chunks.iter() {
            total += black_box(c).len();
        }
        total
    };

    for clock in ["tsc", "instant"] {
        let case = Case::new("meter", "plain")
            .param("clock", clock)
            .info("chunks", n)
            .info("chunk_bytes", SIZE)
            .info("tsc_read_ns", format!("{tsc_read:.2}"))
            .info("instant_now_ns", format!("{instant_read:.2}"));
        if clock == "tsc" {
            h.compare(
                op(|| metered(Meter::with_clock(black_box(&chunks).iter(), tsc.clone()))),
                vec![(case, op(|| plain(black_box(&chunks))))],
            );
        } else {
            h.compare(
                op(|| metered(Meter::with_clock(black_box(&chunks).iter(), instant))),
                vec![(case, op(|| plain(black_box(&chunks))))],
            );
        }
        if let Some(r) = h
            .rows()
            .last()
            .filter(|r| r.bench == format!("meter/clock={clock}"))
        {
            let per_chunk = (r.tenure_ns - r.peer_ns) / n as f64;
            let read = if clock == "tsc" {
                tsc_read
            } else {
                instant_read
            };
            eprintln!(
                "meter/clock={clock}: {per_chunk:+.2} ns/chunk over the plain loop{}; one clock read costs {read:.2} ns here",
                if clock == "tsc" { " (target <= 15 ns)" } else { "" },
            );
        }
    }

    h.compare(
        op(|| metered(Meter::with_clock(black_box(&chunks).iter(), tsc.clone()))),
        vec![(
            Case::new("meter", "cpython")
                .param("clock", "tsc")
                .info("chunks", n)
                .info("chunk_bytes", SIZE)
                .target(5.0),
            cpython(&seed(n)),
        )],
    );
}

/// The consumer: the same work as the plain loop, through a meter.
#[inline]
fn metered<'a, C: Clock>(mut meter: Meter<std::slice::Iter<'a, &'a str>, C>) -> usize {
    let mut total = 0;
    for c in meter.by_ref() {
        total += black_box(c).len();
    }
    total
}

/// Mean cost of one read of `clock`, in ns, over `reads` reads.
fn clock_read_ns<C: Clock>(clock: &C, reads: usize) -> f64 {
    let t = Instant::now();
    let mut acc = 0u64;
    for _ in 0..reads {
        acc = acc.wrapping_add(black_box(clock).now());
    }
    black_box(acc);
    t.elapsed().as_nanos() as f64 / reads as f64
}

/// Mean cost of `Instant::now()`, in ns.
fn instant_now_ns(reads: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..reads {
        black_box(Instant::now());
    }
    t.elapsed().as_nanos() as f64 / reads as f64
}

/// The seed's pattern 8 as written, over the same chunks, consumed like [`metered`].
fn seed(n: usize) -> Snippet {
    Snippet {
        setup: format!(
            "import time\n\
             def stream_with_metrics(chunks):\n    \
                 start = time.perf_counter()\n    \
                 first_chunk_time = None\n    \
                 chunk_count = 0\n    \
                 total_bytes = 0\n    \
                 for chunk in chunks:\n        \
                     if first_chunk_time is None:\n            \
                         first_chunk_time = time.perf_counter() - start\n        \
                     chunk_count += 1\n        \
                     total_bytes += len(chunk.encode())\n        \
                     yield chunk\n    \
                 total_time = time.perf_counter() - start\n    \
                 return {{\n        \
                     'time_to_first_byte_ms': round((first_chunk_time or 0) * 1000, 2),\n        \
                     'total_time_ms': round(total_time * 1000, 2),\n        \
                     'chunk_count': chunk_count,\n        \
                     'total_bytes': total_bytes,\n    \
                 }}\n\
             TEXT = ''.join(chr(97 + i % 26) for i in range({n} * {SIZE}))\n\
             CHUNKS = [TEXT[i * {SIZE}:(i + 1) * {SIZE}] for i in range({n})]\n"
        ),
        op: "total = 0\n\
             for chunk in stream_with_metrics(CHUNKS):\n    \
                 total += len(chunk)"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(super::run, "meter/", &["plain", "cpython"]);
        assert!(rows.len() >= 2, "{rows:?}");
    }

    #[test]
    fn metered_and_plain_agree() {
        let chunks = ["ab", "cde"];
        let m = tenure::stream::Meter::new(chunks.iter());
        assert_eq!(super::metered(m), 5);
    }
}
