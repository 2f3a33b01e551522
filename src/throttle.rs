//! A log gate that cannot flood: at most one line per interval, counting what it held back.
//! Atomics only, so any thread (the DDS reader, the node's threads) can share one.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// A log gate: `allow` answers true at most once per interval, with how many were held back.
#[derive(Debug)]
pub struct Throttle {
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last allowed line; i64::MIN: never.
    last: AtomicI64,
    held: AtomicU64,
    interval_ns: i64,
}

impl Throttle {
    pub fn new(interval_s: f64) -> Self {
        Throttle {
            epoch: Instant::now(),
            last: AtomicI64::new(i64::MIN),
            held: AtomicU64::new(0),
            interval_ns: (interval_s * 1e9) as i64,
        }
    }

    /// Some(lines held back since the last allowed one) if a line may be logged now.
    pub fn allow(&self) -> Option<u64> {
        let now = self.epoch.elapsed().as_nanos() as i64;
        let last = self.last.load(Ordering::Relaxed);
        if last != i64::MIN && now - last < self.interval_ns {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}
