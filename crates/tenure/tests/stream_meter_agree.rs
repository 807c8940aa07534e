//! The same stream metered through every kind of source — `Iterator`, `Read`, futures
//! `Stream`, futures-io and tokio `AsyncRead` — gives the same metrics, on a manual clock:
//! completed, failed midway, and dropped early. And once a stream has ended, its metrics
//! are what its end report said, whatever the consumer does next.
#![cfg(feature = "stream")]
#![cfg(all(feature = "futures", feature = "tokio"))]

mod common;

use std::collections::VecDeque;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::stream::{Meter, StreamMetrics, StreamStatus};

const MS: Duration = Duration::from_millis(1);

/// What the source does at each step, after the clock advances by the step's delay.
#[derive(Debug, Clone, Copy)]
enum Event {
    Chunk(usize),
    Fail,
    End,
}

/// A source of `events` (delays in ms) usable as any of the five kinds.
struct Source {
    events: VecDeque<(u64, Event)>,
    clock: ManualClock,
}

impl Source {
    fn new(events: &[(u64, Event)], clock: &ManualClock) -> Self {
        Source {
            events: events.iter().copied().collect(),
            clock: clock.clone(),
        }
    }

    /// The next event, the clock advanced to it; `End` once exhausted.
    fn step(&mut self) -> Event {
        match self.events.pop_front() {
            Some((delay, event)) => {
                self.clock.advance(MS * delay as u32);
                event
            }
            None => Event::End,
        }
    }

    fn read_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.step() {
            Event::Chunk(n) => {
                assert!(n <= buf.len(), "the test reads with a large enough buffer");
                buf[..n].fill(b'x');
                Ok(n)
            }
            Event::Fail => Err(io::Error::other("connection reset")),
            Event::End => Ok(0),
        }
    }
}

impl Iterator for Source {
    type Item = Result<Vec<u8>, io::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Event::Chunk(n) => Some(Ok(vec![b'x'; n])),
            Event::Fail => Some(Err(io::Error::other("connection reset"))),
            Event::End => None,
        }
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf)
    }
}

impl futures::Stream for Source {
    type Item = Result<Vec<u8>, io::Error>;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Iterator::next(self.get_mut()))
    }
}

impl futures::io::AsyncRead for Source {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().read_into(buf))
    }
}

impl tokio::io::AsyncRead for Source {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut tmp = [0; 256];
        let r = self.get_mut().read_into(&mut tmp);
        Poll::Ready(r.map(|n| buf.put_slice(&tmp[..n])))
    }
}

/// Pulls up to `pulls` times (all, if `None`) through each kind of source; returns the
/// metrics each meter reported at its end (once) — at the drop, if it had not ended.
async fn every_kind(
    events: &[(u64, Event)],
    pulls: Option<usize>,
) -> Vec<(&'static str, StreamMetrics)> {
    let pulls = pulls.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    macro_rules! run {
        ($kind:literal, |$m:ident| $pull:expr) => {{
            let clock = ManualClock::new();
            let (ended, on_end) = common::end_reports();
            let mut $m = Meter::with_clock(Source::new(events, &clock), clock).on_end(on_end);
            for _ in 0..pulls {
                // Pull until the source says it is over (end or error).
                if !$pull {
                    break;
                }
            }
            drop($m);
            let ended = ended.lock().unwrap();
            assert_eq!(ended.len(), 1, "{}: reported once", $kind);
            out.push(($kind, ended[0].clone()));
        }};
    }
    run!("iterator", |m| matches!(
        Iterator::next(&mut m),
        Some(Ok(_))
    ));
    run!("read", |m| matches!(m.read(&mut buf), Ok(n) if n > 0));
    run!("stream", |m| matches!(
        futures::StreamExt::next(&mut m).await,
        Some(Ok(_))
    ));
    run!("futures-io", |m| matches!(
        futures::io::AsyncReadExt::read(&mut m, &mut buf).await,
        Ok(n) if n > 0
    ));
    run!("tokio", |m| matches!(
        tokio::io::AsyncReadExt::read(&mut m, &mut buf).await,
        Ok(n) if n > 0
    ));
    out
}

fn assert_all_equal(runs: &[(&str, StreamMetrics)]) -> StreamMetrics {
    let (first, want) = &runs[0];
    for (kind, got) in &runs[1..] {
        assert_eq!(got, want, "{kind} disagrees with {first}");
    }
    want.clone()
}

const SCHEDULE: [(u64, Event); 5] = [
    (3, Event::Chunk(10)),
    (1, Event::Chunk(20)),
    (4, Event::Chunk(5)),
    (2, Event::Chunk(7)),
    (5, Event::End),
];

#[tokio::test]
async fn every_kind_of_source_gives_the_same_metrics_when_completed() {
    let m = assert_all_equal(&every_kind(&SCHEDULE, None).await);
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!((m.chunks, m.bytes), (4, 42));
    assert_eq!((m.ttfb, m.total), (Some(3 * MS), 15 * MS));
    let itl = m.inter_chunk.unwrap();
    assert_eq!((itl.min, itl.max), (MS, 4 * MS));
}

#[tokio::test]
async fn every_kind_of_source_gives_the_same_metrics_when_failing_midway() {
    let mut events = SCHEDULE.to_vec();
    events[2] = (4, Event::Fail);
    let m = assert_all_equal(&every_kind(&events, None).await);
    assert_eq!(
        m.status,
        StreamStatus::Failed {
            error: "connection reset".into()
        }
    );
    assert_eq!((m.chunks, m.bytes), (2, 30));
    assert_eq!((m.ttfb, m.total), (Some(3 * MS), 8 * MS));
}

#[tokio::test]
async fn every_kind_of_source_gives_the_same_metrics_when_dropped_early() {
    let m = assert_all_equal(&every_kind(&SCHEDULE, Some(2)).await);
    assert_eq!(m.status, StreamStatus::DroppedEarly);
    assert_eq!((m.chunks, m.bytes), (2, 30));
    // Ended at the drop: the clock stood at the second chunk.
    assert_eq!(m.total, 4 * MS);
}

#[test]
fn after_the_end_the_metrics_are_those_reported() {
    // An iterator of results may go on after an error; the stream ended at the error, and
    // what comes after is not part of it.
    let mut events = SCHEDULE.to_vec();
    events[1] = (1, Event::Fail);
    let clock = ManualClock::new();
    let (ended, on_end) = common::end_reports();
    let mut m = Meter::with_clock(Source::new(&events, &clock), clock).on_end(on_end);
    let pulled: Vec<bool> = Iterator::by_ref(&mut m).map(|r| r.is_ok()).collect();
    assert_eq!(
        pulled,
        [true, false, true, true],
        "the consumer read past the error"
    );
    let reported = ended.lock().unwrap()[0].clone();
    assert_eq!((reported.chunks, reported.bytes), (1, 10));
    assert_eq!(m.metrics(), reported);
    drop(m);
    assert_eq!(ended.lock().unwrap().len(), 1, "reported once");
}
