//! Graceful shutdown: tell every connection of a server to close with 1001, then wait for
//! them (the runtime crates bound the wait with a deadline).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    next_id: AtomicU64,
    live: AtomicUsize,
    /// Connections waiting for the trigger, by watch id.
    watchers: Mutex<HashMap<u64, Waker>>,
    /// Tasks waiting for `live` to reach zero.
    idle_waiters: Mutex<Vec<Waker>>,
}

/// A set of connections that can be told to close together.
///
/// A server gives each connection task a [`guard`](Self::guard) and each WebSocket stream a
/// [`watch`](Self::watch) (see `WebSocketStream::with_shutdown`). [`trigger`](Self::trigger)
/// makes every open stream send a close frame with 1001 (going away);
/// [`wait_idle`](Self::wait_idle) resolves once every guard is dropped.
///
/// ```
/// let group = wstack_async::ShutdownGroup::new();
/// let guard = group.guard();
/// assert_eq!(group.live(), 1);
/// group.trigger();
/// assert!(group.is_triggered());
/// drop(guard);
/// assert_eq!(group.live(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ShutdownGroup {
    inner: Arc<Inner>,
}

impl ShutdownGroup {
    /// An empty group, not triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the shutdown: every watching stream closes with 1001 at its next poll (they are
    /// woken now).
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = lock(&self.inner.watchers).drain().map(|(_, w)| w).collect();
        for w in wakers {
            w.wake();
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Counts a connection as live until the guard is dropped.
    pub fn guard(&self) -> ShutdownGuard {
        self.inner.live.fetch_add(1, Ordering::SeqCst);
        ShutdownGuard {
            inner: Arc::clone(&self.inner),
        }
    }

    /// How many guards are alive.
    pub fn live(&self) -> usize {
        self.inner.live.load(Ordering::SeqCst)
    }

    /// A watch for one stream: it learns of the trigger.
    pub fn watch(&self) -> ShutdownWatch {
        ShutdownWatch {
            inner: Arc::clone(&self.inner),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Resolves when no guard is alive. Bound it with a timer for a deadline.
    pub fn wait_idle(&self) -> WaitIdle {
        WaitIdle {
            inner: Arc::clone(&self.inner),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps a connection counted in its [`ShutdownGroup`] until dropped.
#[derive(Debug)]
pub struct ShutdownGuard {
    inner: Arc<Inner>,
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        if self.inner.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            for w in lock(&self.inner.idle_waiters).drain(..) {
                w.wake();
            }
        }
    }
}

/// A stream's view of its [`ShutdownGroup`]: has the shutdown started?
#[derive(Debug)]
pub struct ShutdownWatch {
    inner: Arc<Inner>,
    id: u64,
}

impl ShutdownWatch {
    /// True once triggered; otherwise registers the task to be woken by the trigger.
    pub(crate) fn poll_triggered(&mut self, cx: &mut Context<'_>) -> bool {
        if self.inner.triggered.load(Ordering::SeqCst) {
            return true;
        }
        {
            let mut w = lock(&self.inner.watchers);
            match w.get_mut(&self.id) {
                Some(old) if old.will_wake(cx.waker()) => {}
                Some(old) => old.clone_from(cx.waker()),
                None => {
                    w.insert(self.id, cx.waker().clone());
                }
            }
        }
        // Re-check: a trigger between the first load and the registration drained the map
        // before our waker went in.
        self.inner.triggered.load(Ordering::SeqCst)
    }
}

impl Drop for ShutdownWatch {
    fn drop(&mut self) {
        lock(&self.inner.watchers).remove(&self.id);
    }
}

/// The future of [`ShutdownGroup::wait_idle`].
#[derive(Debug)]
pub struct WaitIdle {
    inner: Arc<Inner>,
}

impl Future for WaitIdle {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.live.load(Ordering::SeqCst) == 0 {
            return Poll::Ready(());
        }
        lock(&self.inner.idle_waiters).push(cx.waker().clone());
        if self.inner.live.load(Ordering::SeqCst) == 0 {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl ShutdownGroup {
    /// Resolves once [`trigger`](Self::trigger) is called (an accept loop stops on it).
    pub fn triggered(&self) -> Triggered {
        Triggered {
            watch: self.watch(),
        }
    }
}

/// The future of [`ShutdownGroup::triggered`].
#[derive(Debug)]
pub struct Triggered {
    watch: ShutdownWatch,
}

impl Future for Triggered {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.watch.poll_triggered(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
