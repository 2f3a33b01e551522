//! How many threads the custom ops use. Scoped threads, not candle's rayon pool: that pool
//! stalls intermittently on 2 vCPUs, and a scoped split costs ~20 us, once per large GEMM.

use std::sync::atomic::{AtomicUsize, Ordering};

/// 0 = not yet read from the environment.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Threads for the ops: `NDP_THREADS` if set, else the available cores (at most 8; the
/// digit model's conv layers have 4 to 8 chunks per batch of 64 to share out).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("NDP_THREADS")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n >= 1)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
                });
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Overrides `NDP_THREADS` (benchmarks compare 1 and 2).
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Runs `f(lo, hi)` over `0..n` split into `threads()` contiguous parts (one part on this
/// thread), or in one call when `n` is below `min_split` per part.
pub fn split(n: usize, min_split: usize, f: impl Fn(usize, usize) + Sync) {
    let parts = threads().min(n / min_split.max(1)).max(1);
    if parts == 1 {
        f(0, n);
        return;
    }
    let bound = |i: usize| n * i / parts;
    std::thread::scope(|s| {
        for i in 1..parts {
            let f = &f;
            s.spawn(move || f(bound(i), bound(i + 1)));
        }
        f(0, bound(1));
    });
}
