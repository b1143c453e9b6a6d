//! Small futures-io helpers, so that the engine needs no futures-util at run time.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};

/// Writes all of `buf` and flushes.
pub(crate) async fn write_all<S: AsyncWrite + Unpin>(io: &mut S, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut *io).poll_flush(cx)).await
}

/// Reads some bytes (retrying on `Interrupted`); 0 at the end of input.
pub(crate) async fn read_some<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut [u8],
) -> io::Result<usize> {
    poll_fn(|cx| {
        loop {
            match Pin::new(&mut *io).poll_read(cx, buf) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    })
    .await
}

/// Shuts the write side down.
pub(crate) async fn close<S: AsyncWrite + Unpin>(io: &mut S) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *io).poll_close(cx)).await
}
