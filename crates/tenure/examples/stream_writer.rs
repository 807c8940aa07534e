//! Seed pattern 5: selective suppression — a writer that treats a broken pipe (the client
//! went away) as expected, and lets every other error through.
//!
//! The suppression is explicit and narrow: one `io::ErrorKind`, written where the stack is
//! built. The stream is closed on every path.
//!
//! Run: `cargo run -p tenure --example stream_writer`

use std::io::{self, Write};
use std::os::unix::net::UnixStream;

use tenure::{suppress, Close, ExitStack, ScopeError};

/// A response stream that is closed (shut down) when released.
struct StreamWriter<W: Write> {
    name: &'static str,
    inner: W,
}

impl<W: Write> Close for StreamWriter<W> {
    type Error = io::Error;
    fn close(mut self) -> io::Result<()> {
        println!("  closing {}", self.name);
        // Flushing a stream whose reader is gone fails with the same broken pipe.
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// A sink that fails with something other than a broken pipe.
struct FullDisk;
impl Write for FullDisk {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "no space left on device",
        ))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams `lines` to `out`; a broken pipe ends the response quietly.
fn respond<W: Write + 'static>(
    name: &'static str,
    out: W,
    lines: usize,
) -> Result<usize, ScopeError<io::Error>> {
    ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(io::ErrorKind::BrokenPipe));
        let w = s.enter(StreamWriter { name, inner: out });
        for i in 0..lines {
            writeln!(s[w].inner, "event {i}")?;
        }
        Ok(lines)
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("1) the client reads everything:");
    let (server, client) = UnixStream::pair()?;
    let reader = std::thread::spawn(move || io::read_to_string(client));
    let sent = respond("socket #1", server, 3)?;
    println!(
        "  sent {sent} lines; client got {:?}",
        reader.join().expect("reader")?
    );

    println!("2) the client disconnects (broken pipe):");
    let (server, client) = UnixStream::pair()?;
    drop(client);
    match respond("socket #2", server, 3) {
        Err(e @ ScopeError::Suppressed(_)) => println!("  suppressed as expected: {e}"),
        other => return Err(format!("expected a suppressed broken pipe, got {other:?}").into()),
    }

    println!("3) any other error propagates:");
    match respond("disk file", FullDisk, 3) {
        Err(ScopeError::Body { error, .. }) => {
            println!("  propagated: {error} (kind {:?})", error.kind())
        }
        other => return Err(format!("expected the disk error, got {other:?}").into()),
    }
    Ok(())
}
