//! A global allocator that counts the live heap bytes of each thread, so that memory claims
//! are measured, not assumed. Each thread sees only its own allocations, so tests running in
//! parallel do not disturb each other; a block freed by another thread than the one that
//! allocated it is counted on the thread that frees it.
//!
//! Written once for the workspace, in the package `wstack-testutil`. A test binary includes
//! it as a module (it installs itself as the binary's global allocator):
//!
//! ```text
//! #[allow(unsafe_code)] // a counting GlobalAlloc must implement an unsafe trait; test-only
//! #[path = "../../wstack-testutil/src/counting_alloc.rs"]
//! mod counting_alloc;
//!
//! let (_, left, peak) = counting_alloc::measure(|| vec![0u8; 1000]);
//! ```
#![allow(dead_code)] // each test binary uses the part it needs

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards every call to the system allocator, counting sizes on the calling thread.
struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The highest `LIVE` since [`measure`] last reset it.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `delta` to this thread's count. Does nothing while the thread-locals are being torn
/// down (`try_with`): an allocator must not panic.
fn add(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn size(bytes: usize) -> isize {
    isize::try_from(bytes).unwrap_or(isize::MAX)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(size(layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(size(layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-size(layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(size(new_size) - size(layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes of this thread: allocated minus freed since the thread started.
pub(crate) fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f` and returns (its result, live bytes it left allocated, peak bytes above the
/// start). The result is moved out before the count is taken, so what it owns counts as
/// left allocated.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let start = live();
    PEAK.with(|p| p.set(start));
    let value = f();
    let peak = PEAK.with(Cell::get) - start;
    (value, live() - start, peak)
}
