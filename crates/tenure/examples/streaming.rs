//! Seed patterns 6 and 7: streaming with accumulated state, in O(n).
//!
//! A pretend model response arrives as bytes split at arbitrary points — some in the middle
//! of multi-byte characters. Each step shows the new text and everything so far (a borrow,
//! not a re-join), then the stream is finalized and a late chunk is refused with a typed
//! error. Then: a size limit that keeps what was accumulated, invalid UTF-8 named by its
//! byte offset, and the O(n) versus O(n²) difference the seed warns about.
//!
//! Run: `cargo run -p tenure --example streaming`

use std::time::Instant;

use tenure::stream::{Accumulate, AccumulateError, Accumulator, StepError, Utf8Accumulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. (accumulated, chunk) per step, UTF-8 decoded across chunk boundaries.
    let response = "Grüße — the café serves ☕ and 🥐.";
    let bytes = response.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(5).collect(); // splits 'ü', '—', '☕', '🥐'
    println!("1. {} chunks of 5 bytes, split anywhere:", chunks.len());
    let mut steps = Accumulate::new(chunks, Utf8Accumulator::new());
    while let Some(step) = steps.next_step() {
        let (accumulated, chunk) = step?;
        let line = format!("   + {chunk:<9?} -> {accumulated:?}");
        // The step's borrows end here; the accumulator can be asked about held-back bytes.
        match steps.accumulator().pending().len() {
            0 => println!("{line}"),
            n => println!(
                "{line}  ({n} byte{} of a split character held back)",
                if n == 1 { "" } else { "s" }
            ),
        }
    }
    let content = steps.finalize()?;
    assert_eq!(content, response);
    println!("   finalized: {content:?}");

    // 2. Pushing after finalize is an error that says so, not a panic; nothing is lost.
    let acc = steps.accumulator_mut();
    match acc.push(b" (late chunk)") {
        Err(e @ AccumulateError::Sealed { .. }) => println!("2. push after finalize: {e}"),
        other => panic!("expected Sealed, got {other:?}"),
    }
    println!("   content unchanged: {:?}", acc.content());

    // 3. A maximum size: the chunk that would exceed it is refused, the rest is kept.
    let limited = Accumulator::<str>::new().with_max_len(16);
    let mut stream = Accumulate::new(["0123456789", "abcdef", "overflow!"], limited);
    while let Some(step) = stream.next_step() {
        if let Err(StepError::Accumulate(e)) = step {
            println!("3. limit: {e}");
        }
    }
    let acc = stream.accumulator();
    println!(
        "   kept: {:?} ({} chunks)",
        acc.content(),
        acc.chunk_count()
    );

    // 4. Invalid bytes are named with their offset in the stream; a stream that stops
    //    mid-character is reported at finalize.
    let mut acc = Utf8Accumulator::new();
    acc.push(b"valid, then ")?;
    if let Err(e) = acc.push(b"\xff\xfe") {
        println!("4. {e}");
    }
    acc.push(&"€".as_bytes()[..2])?;
    if let Err(e) = acc.finalize() {
        println!("   {e}");
    }

    // 5. The seed's trap: reading `"".join(chunks)` at every step is O(n²). Here the
    //    accumulated content is a borrow at every step.
    println!("5. reading the accumulated content at every step:");
    let text = "x".repeat(16);
    for n in [500, 1_000, 2_000] {
        let t = Instant::now();
        let mut steps = Accumulate::new((0..n).map(|_| text.as_str()), Accumulator::<str>::new());
        let mut seen = 0;
        while let Some(step) = steps.next_step() {
            seen += step?.0.len();
        }
        let ours = t.elapsed();
        let t = Instant::now();
        let mut chunks: Vec<&str> = Vec::new();
        let mut seen_join = 0;
        for c in (0..n).map(|_| text.as_str()) {
            chunks.push(c);
            seen_join += chunks.concat().len(); // what `"".join(chunks)` per step does
        }
        let join = t.elapsed();
        assert_eq!(seen, seen_join);
        println!(
            "   n = {n:>6}: borrowed view {:>9.3} ms, join per step {:>9.3} ms ({:.0}x)",
            ours.as_secs_f64() * 1e3,
            join.as_secs_f64() * 1e3,
            join.as_secs_f64() / ours.as_secs_f64()
        );
    }
    Ok(())
}
