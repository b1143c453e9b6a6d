//! The counting allocator counts what it should: allocations, frees, reallocs, the peak, and
//! only the calling thread's.
#![allow(clippy::unwrap_used)] // test code: a panic is a failure report

#[allow(unsafe_code)] // a counting GlobalAlloc must implement an unsafe trait; test-only
#[path = "../src/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;

use counting_alloc::{live, measure};

#[test]
fn a_freed_block_shows_in_the_peak_only() {
    let ((), left, peak) = measure(|| drop(black_box(vec![7u8; 1000])));
    assert_eq!(left, 0);
    assert_eq!(peak, 1000);
}

#[test]
fn what_is_kept_counts_as_left() {
    let (kept, left, peak) = measure(|| black_box(Vec::<u8>::with_capacity(4096)));
    assert_eq!(left, 4096);
    assert_eq!(peak, 4096);
    let before = live();
    drop(kept);
    assert_eq!(before - live(), 4096);
}

#[test]
fn a_realloc_counts_the_difference() {
    let mut v = black_box(Vec::<u8>::with_capacity(100));
    let before = live();
    v.reserve_exact(1000);
    assert_eq!(
        live() - before,
        isize::try_from(v.capacity()).unwrap() - 100
    );
    v.shrink_to(10);
    assert_eq!(
        live() - before,
        isize::try_from(v.capacity()).unwrap() - 100
    );
}

#[test]
fn other_threads_do_not_count() {
    let ((), left, peak) = measure(|| {
        let other = std::thread::spawn(|| black_box(vec![1u8; 1 << 20]).len());
        assert_eq!(other.join().unwrap(), 1 << 20);
    });
    // Spawning a thread allocates a little here (its handle, its name); not its megabyte.
    assert!(peak < 1 << 16, "{peak} bytes");
    assert!(left < 1 << 16, "{left} bytes");
}
