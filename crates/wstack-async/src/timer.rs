//! The clock and sleep a runtime supplies: the only thing the engine needs from it besides IO.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// A runtime's timer. The runtime crates implement it (`wstack_tokio::TokioTimer`, ...);
/// deadlines themselves (keepalive, dead peer, close timeout) come from the sans-IO core.
pub trait Timer: Send + Sync + fmt::Debug {
    /// A sleep that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>>;

    /// The current time. Runtimes with a virtual clock (tokio's paused time) override it, so
    /// that tests run deadlines without waiting for them.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A resettable sleep, as [`Timer::sleep_until`] returns it.
pub trait Sleep: Send + Sync {
    /// Ready once the deadline has passed.
    fn poll_sleep(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Moves the deadline (earlier or later), re-arming a completed sleep.
    fn reset(self: Pin<&mut Self>, deadline: Instant);
}
