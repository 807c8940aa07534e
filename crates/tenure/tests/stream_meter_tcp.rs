//! A metered `AsyncRead` over a real loopback TCP socket: the server sends chunks with known
//! delays (lock-step, one chunk per client acknowledgement, so each chunk is one read).
//! Counts are exact; times are checked only as lower bounds (the server starts its clock only
//! when the client's meter runs).
#![cfg(feature = "stream")]
#![cfg(all(feature = "tokio", feature = "futures"))]

mod common;

use std::time::Duration;

use tenure::clock::InstantClock;
use tenure::stream::{Meter, StreamStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FIRST: Duration = Duration::from_millis(60);
const GAP: Duration = Duration::from_millis(25);
const CHUNKS: usize = 5;
const CHUNK: &[u8] = b"0123456789abcdef0123456789abcdef"; // 32 bytes

/// Serves one connection, lock-step: before chunk `i` it waits for one byte from the client
/// (a "go" for the first, an ack of the previous chunk after that), then sleeps (FIRST before
/// the first chunk, GAP before the others) and sends it; then closes — or, at chunk
/// `fail_at`, resets the connection instead. The client sends "go" only once its meter runs,
/// so every measured time is at least the server's sleeps.
async fn serve(listener: TcpListener, fail_at: Option<usize>) {
    let (mut sock, _) = listener.accept().await.unwrap();
    sock.set_nodelay(true).unwrap();
    for i in 0..CHUNKS {
        let mut byte = [0u8];
        if sock.read_exact(&mut byte).await.is_err() {
            return; // the client went away
        }
        tokio::time::sleep(if i == 0 { FIRST } else { GAP }).await;
        if fail_at == Some(i) {
            sock.set_zero_linger().unwrap(); // close with RST
            return;
        }
        sock.write_all(CHUNK).await.unwrap();
        sock.flush().await.unwrap();
    }
}

async fn connect(fail_at: Option<usize>) -> (TcpStream, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, fail_at));
    let sock = TcpStream::connect(addr).await.unwrap();
    sock.set_nodelay(true).unwrap();
    (sock, server)
}

#[tokio::test(flavor = "current_thread")]
async fn chunks_over_loopback_tcp_are_counted_exactly_and_timed_at_least_as_sent() {
    let (sock, server) = connect(None).await;
    let (read, mut write) = sock.into_split();
    let (ended, on_end) = common::end_reports();
    let mut meter = Meter::with_clock(read, InstantClock::new())
        .name("loopback")
        .on_end(on_end);
    write.write_all(b"g").await.unwrap(); // go: the meter runs
    let mut buf = [0u8; 1024];
    let mut received = Vec::new();
    loop {
        let n = meter.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
        let _ = write.write_all(b"k").await; // ack: the server may send the next chunk
    }
    server.await.unwrap();

    assert_eq!(received, CHUNK.repeat(CHUNKS));
    let m = meter.metrics();
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!(m.chunks, CHUNKS as u64);
    assert_eq!(m.bytes, (CHUNK.len() * CHUNKS) as u64);
    assert!(m.ttfb.unwrap() >= FIRST, "{m}");
    assert!(m.total >= FIRST + GAP * (CHUNKS as u32 - 1), "{m}");
    let itl = m.inter_chunk.unwrap();
    assert_eq!(itl.count, CHUNKS as u64 - 1);
    assert!(itl.min >= GAP, "{m}");
    assert!(itl.p50 >= itl.min && itl.max >= itl.p99 && itl.p99 >= itl.p50);
    assert!(m.throughput > 0.0);
    drop(meter);
    assert_eq!(
        ended.lock().unwrap().len(),
        1,
        "one report, at the end of the stream"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_reset_midway_is_a_failure_with_the_partial_figures() {
    let (sock, server) = connect(Some(2)).await;
    let (read, mut write) = sock.into_split();
    let mut meter = Meter::new(read); // the default TSC clock
    write.write_all(b"g").await.unwrap();
    let mut buf = [0u8; 1024];
    let err = loop {
        match meter.read(&mut buf).await {
            Ok(0) => panic!("the server resets, it does not close cleanly"),
            Ok(_) => {
                let _ = write.write_all(b"k").await;
            }
            Err(e) => break e,
        }
    };
    server.await.unwrap();
    let m = meter.metrics();
    assert_eq!(m.chunks, 2);
    assert_eq!(m.bytes, 2 * CHUNK.len() as u64);
    assert_eq!(
        m.status,
        StreamStatus::Failed {
            error: err.to_string()
        }
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_cancelled_midway_reports_the_stream_dropped_early() {
    let (sock, server) = connect(None).await;
    let (read, mut write) = sock.into_split(); // "go", then no ack: only the first chunk comes
    let (ended, on_end) = common::end_reports();
    let (got, mut first) = tokio::sync::mpsc::unbounded_channel();
    let reading = async move {
        let mut meter = Meter::with_clock(read, InstantClock::new()).on_end(on_end);
        write.write_all(b"g").await.unwrap();
        let mut buf = [0u8; 1024];
        while meter.read(&mut buf).await.unwrap() > 0 {
            got.send(()).unwrap();
        }
    };
    // Cancel the read (drop its future) once the first chunk has arrived and the reader
    // is waiting for the next one — as a `select!` or a timeout would.
    tokio::select! {
        () = reading => panic!("the server sends more only after an ack"),
        () = async {
            first.recv().await;
            tokio::time::sleep(GAP).await;
        } => {}
    }
    let ended = ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].status, StreamStatus::DroppedEarly);
    assert_eq!(ended[0].chunks, 1);
    assert!(ended[0].ttfb.unwrap() >= FIRST);
    assert!(ended[0].total >= FIRST + GAP);
    server.abort();
}

#[test]
fn a_metered_futures_stream_passes_items_through() {
    use futures::StreamExt;
    let chunks = futures::stream::iter(vec![Ok("a"), Ok("bc"), Err("boom")]);
    let mut meter = Meter::with_clock(chunks, InstantClock::new());
    let items: Vec<Result<&str, &str>> = futures::executor::block_on(meter.by_ref().collect());
    assert_eq!(items, [Ok("a"), Ok("bc"), Err("boom")]);
    let m = meter.metrics();
    assert_eq!((m.chunks, m.bytes), (2, 3));
    assert_eq!(
        m.status,
        StreamStatus::Failed {
            error: "boom".into()
        }
    );
}

#[test]
fn a_metered_futures_async_read_counts_reads_until_eof() {
    use futures::AsyncReadExt;
    let data = b"0123456789".repeat(10);
    let mut meter = Meter::with_clock(futures::io::Cursor::new(data.clone()), InstantClock::new());
    let out = futures::executor::block_on(async {
        let mut out = Vec::new();
        let mut buf = [0u8; 30];
        loop {
            let n = meter.read(&mut buf).await.unwrap();
            if n == 0 {
                break out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    });
    assert_eq!(out, data);
    let m = meter.metrics();
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!((m.chunks, m.bytes), (4, 100)); // 30 + 30 + 30 + 10
}
