//! An in-memory duplex byte stream (futures-io), for tests and examples without sockets.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

#[derive(Debug, Default)]
struct Pipe {
    buf: VecDeque<u8>,
    capacity: usize,
    closed: bool,
    reset: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// One end of an in-memory connection made by [`duplex`].
#[derive(Debug)]
pub struct MemStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

/// Two connected ends; each direction buffers at most `capacity` bytes (writes wait beyond).
///
/// ```
/// let (a, b) = wstack_async::mem::duplex(64 * 1024);
/// # drop((a, b));
/// ```
pub fn duplex(capacity: usize) -> (MemStream, MemStream) {
    let pipe = || {
        Arc::new(Mutex::new(Pipe {
            capacity: capacity.max(1),
            ..Pipe::default()
        }))
    };
    let (ab, ba) = (pipe(), pipe());
    (
        MemStream {
            read: Arc::clone(&ba),
            write: Arc::clone(&ab),
        },
        MemStream {
            read: ab,
            write: ba,
        },
    )
}

fn lock(p: &Mutex<Pipe>) -> std::sync::MutexGuard<'_, Pipe> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemStream {
    /// Drops the connection abruptly in both directions (the peer reads an error).
    pub fn reset(&self) {
        for p in [&self.read, &self.write] {
            let mut p = lock(p);
            p.closed = true;
            p.reset = true;
            p.buf.clear();
            if let Some(w) = p.reader.take() {
                w.wake();
            }
            if let Some(w) = p.writer.take() {
                w.wake();
            }
        }
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = lock(&self.read);
        if p.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if p.buf.is_empty() {
            if p.closed {
                return Poll::Ready(Ok(0));
            }
            p.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(p.buf.len());
        for (dst, src) in buf.iter_mut().zip(p.buf.drain(..n)) {
            *dst = src;
        }
        if let Some(w) = p.writer.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut p = lock(&self.write);
        if p.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if p.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = p.capacity - p.buf.len().min(p.capacity);
        if room == 0 {
            p.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        p.buf.extend(&buf[..n]);
        if let Some(w) = p.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut p = lock(&self.write);
        p.closed = true;
        if let Some(w) = p.reader.take() {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for MemStream {
    fn drop(&mut self) {
        for p in [&self.read, &self.write] {
            let mut p = lock(p);
            p.closed = true;
            if let Some(w) = p.reader.take() {
                w.wake();
            }
            if let Some(w) = p.writer.take() {
                w.wake();
            }
        }
    }
}
