//! A cancel request that returns only once the server has acted on it.
//!
//! tokio-postgres's `cancel_query` writes the request and shuts its side of the socket down,
//! returning before the server has read it: the signal to the backend may then land at any
//! later moment — on the next holder's query. PostgreSQL closes a cancel connection after
//! it has signalled the backend, so this stream's shutdown also waits for the server's end
//! of the socket to close.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_postgres::config::Host;

/// The socket a cancel request goes over (TCP or Unix), whose shutdown waits for the
/// server to close its end. It appears only in [`Tls`](crate::Tls)'s bounds: a manager's
/// TLS connector must be able to wrap it.
///
/// ```
/// fn wraps_cancel_streams<T: tokio_postgres::tls::TlsConnect<tenure_postgres::CancelStream>>(_: T) {}
/// wraps_cancel_streams(tokio_postgres::NoTls);
/// ```
#[derive(Debug)]
pub struct CancelStream {
    inner: Inner,
    shut: bool,
}

#[derive(Debug)]
enum Inner {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl CancelStream {
    pub(crate) async fn connect(host: &Host, port: u16) -> io::Result<CancelStream> {
        let inner = match host {
            Host::Tcp(h) => Inner::Tcp(TcpStream::connect((h.as_str(), port)).await?),
            Host::Unix(dir) => {
                Inner::Unix(UnixStream::connect(dir.join(format!(".s.PGSQL.{port}"))).await?)
            }
        };
        Ok(CancelStream { inner, shut: false })
    }
}

impl AsyncRead for CancelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for CancelStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.inner {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.inner {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            Inner::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    /// Shuts our side down, then reads until the server closes its side: by then it has
    /// signalled the backend.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            ready!(match &mut self.inner {
                Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
                Inner::Unix(s) => Pin::new(s).poll_shutdown(cx),
            })?;
            self.shut = true;
        }
        let mut scratch = [0u8; 64];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(self.as_mut().poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue,
                // A reset is the server closing too.
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}
