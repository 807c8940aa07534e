//! Seed pattern 8: stream metrics — time to first byte, total time, chunks, bytes — plus
//! throughput and the inter-chunk latency distribution, for a stream that completes, one
//! that fails midway and one the reader abandons.
//!
//! A pretend server produces chunks with delays (first after 80 ms, then every 5–25 ms).
//! The metrics are printed as a one-line summary, the `tracing` event at the end of each
//! stream is shown by a subscriber, and partial metrics are read while the stream runs.
//!
//! Run: `cargo run -p tenure --example stream_metrics`

use std::sync::mpsc;
use std::thread::sleep;
use std::time::Duration;

use tenure::stream::Meter;

/// Chunks of text after a first delay, then with gaps; fails at chunk `fail_at` if set.
fn server(fail_at: Option<usize>) -> impl Iterator<Item = Result<String, std::io::Error>> {
    let words = "streams should say how long they took and what they carried".split(' ');
    words.enumerate().map(move |(i, w)| {
        sleep(Duration::from_millis(if i == 0 {
            80
        } else {
            5 + (i as u64 * 7) % 21
        }));
        if Some(i) == fail_at {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ));
        }
        Ok(format!("{w} "))
    })
}

fn main() {
    // The end of every metered stream is an INFO event under `tenure::stream`.
    tracing_subscriber::fmt()
        .with_env_filter("tenure::stream=info")
        .with_target(true)
        .with_ansi(false)
        .without_time()
        .init();

    println!("1. a stream read to its end:");
    let mut chunks = Meter::new(server(None)).name("completion");
    let mut text = String::new();
    while let Some(chunk) = chunks.next() {
        text += &chunk.expect("no failure in this one");
        if chunks.metrics().chunks == 4 {
            println!("   partial, after 4 chunks: {}", chunks.metrics());
        }
    }
    let m = chunks.metrics();
    println!("   text: {text:?}");
    println!("   {m}");
    println!(
        "   TTFB {:?}, total {:?}, {} chunks, {} bytes",
        m.ttfb.unwrap(),
        m.total,
        m.chunks,
        m.bytes
    );

    println!("2. a stream that fails midway keeps its partial metrics and the error:");
    let mut chunks = Meter::new(server(Some(5))).name("flaky");
    for chunk in chunks.by_ref() {
        if let Err(e) = chunk {
            println!("   reader saw: {e}");
            break;
        }
    }
    println!("   {}", chunks.metrics());

    println!("3. a reader that stops early (drop) still gets a report, exactly once:");
    let (tx, rx) = mpsc::channel();
    let chunks = Meter::new(server(None))
        .name("abandoned")
        .on_end(move |m| tx.send(m.clone()).unwrap());
    for chunk in chunks.take(3) {
        let _ = chunk;
    }
    let m = rx.recv().unwrap();
    println!("   on_end received: {m}");
}
