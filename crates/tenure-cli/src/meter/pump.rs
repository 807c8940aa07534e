//! The pump: reads CMD's metered stream, feeds the meter, passes the bytes through.
//!
//! The meter is the library's [`Meter`] over [`Units`], a queue the pump fills: each read
//! (or, with `--lines`, each newline in it) becomes one unit, and the meter takes it in —
//! reads the clock — right after the read returned, before the bytes are written on. The
//! end of the stream is the queue's end; a read error is an `Err` item.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

use tenure::stream::{Measure, Meter, StreamStatus};

/// A unit of the metered stream: one read, or one line, of this many bytes.
#[derive(Debug)]
pub struct Unit(usize);

impl Measure for Unit {
    fn measure(&self) -> Result<usize, &dyn fmt::Display> {
        Ok(self.0)
    }
}

/// The units read but not yet taken in by the meter.
#[derive(Debug, Default)]
pub struct Units(VecDeque<io::Result<Unit>>);

impl Iterator for Units {
    type Item = io::Result<Unit>;
    fn next(&mut self) -> Option<Self::Item> {
        self.0.pop_front()
    }
}

/// The meter, shared by the pump (which feeds it) and the run (which stops it on a timeout
/// or an interruption).
pub type SharedMeter = Arc<Mutex<Meter<Units>>>;

pub fn lock(meter: &SharedMeter) -> MutexGuard<'_, Meter<Units>> {
    meter
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes `units` into the meter, one clock reading each; then, if `end`, the end of the
/// stream (the meter's `None`: completed, unless it ended before).
fn feed(meter: &SharedMeter, units: impl IntoIterator<Item = io::Result<Unit>>, end: bool) {
    let mut m = lock(meter);
    m.get_mut().0.extend(units);
    while !m.get_ref().0.is_empty() {
        m.next();
    }
    if end {
        m.next();
    }
}

/// How the pump ended.
#[derive(Debug)]
pub enum PumpEnd {
    /// The stream ended (all writers closed it).
    Eof,
    /// Reading failed (the meter has the error).
    ReadFailed,
    /// Our output went away (broken pipe): the meter says `OutputClosed`.
    OutputClosed,
    /// Writing our output failed otherwise.
    WriteFailed(io::Error),
}

/// Where the metered stream is passed on to.
pub enum Sink {
    Stdout,
    Stderr,
    Drop,
}

impl Sink {
    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Sink::Stderr => io::stderr().lock().write_all(bytes),
            Sink::Drop => Ok(()),
        }
    }
}

/// Splits a stream into lines as it arrives: the byte length of each complete line (with
/// its newline), the pending tail counted into the next.
#[derive(Debug, Default)]
pub struct Lines {
    pending: usize,
}

impl Lines {
    pub fn split(&mut self, bytes: &[u8]) -> Vec<io::Result<Unit>> {
        let mut units = Vec::new();
        let mut start = 0;
        for nl in newlines(bytes) {
            units.push(Ok(Unit(self.pending + nl + 1 - start)));
            self.pending = 0;
            start = nl + 1;
        }
        self.pending += bytes.len() - start;
        units
    }

    /// At the end of the stream, a last line without a newline.
    pub fn finish(&mut self) -> Option<io::Result<Unit>> {
        let tail = std::mem::take(&mut self.pending);
        (tail > 0).then_some(Ok(Unit(tail)))
    }
}

fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| i)
}

/// Runs the pump to the end of the stream (or of our output); sends how it ended.
pub fn pump<E: From<PumpEnd>>(
    mut input: File,
    pty: bool,
    lines: bool,
    sink: Sink,
    meter: SharedMeter,
    events: Sender<E>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut splitter = lines.then(Lines::default);
    let end = loop {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A pseudo-terminal's master reads EIO once every slave side is closed.
            Err(e) if pty && e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => 0,
            Err(e) => {
                feed(&meter, [Err(e)], false);
                break PumpEnd::ReadFailed;
            }
        };
        if n == 0 {
            let last = splitter.as_mut().and_then(Lines::finish);
            feed(&meter, last, true);
            break PumpEnd::Eof;
        }
        let bytes = &buf[..n];
        match &mut splitter {
            Some(s) => feed(&meter, s.split(bytes), false),
            None => feed(&meter, [Ok(Unit(n))], false),
        }
        if let Err(e) = sink.write(bytes) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                lock(&meter).stop(StreamStatus::OutputClosed);
                break PumpEnd::OutputClosed;
            }
            lock(&meter).stop(StreamStatus::Failed {
                error: format!("writing our output: {e}"),
            });
            break PumpEnd::WriteFailed(e);
        }
    };
    // Close our end first: a writer still at it learns at once (SIGPIPE) that no one reads.
    drop(input);
    let _ = events.send(end.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(units: Vec<io::Result<Unit>>) -> Vec<usize> {
        units.into_iter().map(|u| u.unwrap().0).collect()
    }

    #[test]
    fn lines_are_counted_when_their_newline_arrives() {
        let mut l = Lines::default();
        assert_eq!(lens(l.split(b"ab")), [0usize; 0]);
        assert_eq!(lens(l.split(b"c\nd\n\nef")), [4, 2, 1]);
        assert_eq!(lens(l.split(b"g\n")), [4]); // "efg\n"
        assert!(l.finish().is_none());
        l.split(b"tail");
        assert_eq!(l.finish().unwrap().unwrap().0, 4);
    }
}
