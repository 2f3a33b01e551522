//! How many threads the custom ops use, and the workers that run their parts. Not candle's
//! rayon pool: it stalls intermittently on 2 vCPUs. Not a thread spawned per op either: each
//! spawn cost a clone, a fresh allocator heap (whose pages the kernel zeroed again every train
//! step) and the wake-up, four times per digit train step. So the workers persist, spinning
//! briefly and then sleeping between ops.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, TryLockError};
use std::time::{Duration, Instant};

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
                // Each thread past the first is a worker that spins after every op.
                .map(|n| n.min(MAX_THREADS))
                .unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
                });
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// The most threads `NDP_THREADS` or `set_threads` may ask for.
pub const MAX_THREADS: usize = 64;

/// Overrides `NDP_THREADS` (benchmarks compare 1 and 2).
pub fn set_threads(n: usize) {
    THREADS.store(n.clamp(1, MAX_THREADS), Ordering::Relaxed);
}

/// How long a worker (and a caller waiting for its parts) spins before sleeping. Waking a
/// sleeping thread on this VM took tens of microseconds (an idle vCPU is halted), several
/// times per train step; the ops of one step follow each other within this window.
const SPIN: Duration = Duration::from_micros(300);

/// Spins until `ready()` or `SPIN` has passed; whether it became ready.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    let end = Instant::now() + SPIN;
    loop {
        if ready() {
            return true;
        }
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        if Instant::now() >= end {
            return ready();
        }
    }
}

/// Counts a split's unfinished parts; the caller waits for zero.
struct Latch {
    left: AtomicUsize,
    lock: Mutex<()>,
    zero: Condvar,
    /// A part's panic, re-raised on the calling thread.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

impl Latch {
    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Under the lock, so a waiter between its check and its sleep cannot miss it.
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.zero.notify_all();
        }
    }

    fn wait(&self) {
        let finished = || self.left.load(Ordering::Acquire) == 0;
        if spin_until(finished) {
            return;
        }
        let mut g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while !finished() {
            g = self.zero.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// One part of a split: `f(lo, hi)`, with `f` borrowed from the caller's stack.
struct Task {
    f: *const (dyn Fn(usize, usize) + Sync),
    lo: usize,
    hi: usize,
    latch: Arc<Latch>,
}

// SAFETY: `f` is Sync and outlives the task: `split` does not return (or unwind) before the
// latch says every task has finished with it.
unsafe impl Send for Task {}

/// A worker's mailbox: at most one task, posted by the caller holding `WORKERS`.
struct Slot {
    task: Mutex<Option<Task>>,
    posted: Condvar,
    /// Set with the task: what the worker spins on before it sleeps on `posted`.
    pending: AtomicBool,
}

impl Slot {
    fn post(&self, t: Task) {
        let mut g = self.task.lock().unwrap_or_else(|e| e.into_inner());
        *g = Some(t);
        self.pending.store(true, Ordering::Release);
        self.posted.notify_one();
    }

    fn take(&self) -> Task {
        spin_until(|| self.pending.load(Ordering::Acquire));
        let mut g = self.task.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(t) = g.take() {
                self.pending.store(false, Ordering::Relaxed);
                return t;
            }
            g = self.posted.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The workers' mailboxes; a worker lives as long as the process.
static WORKERS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

fn spawn_worker() -> Arc<Slot> {
    let slot = Arc::new(Slot {
        task: Mutex::new(None),
        posted: Condvar::new(),
        pending: AtomicBool::new(false),
    });
    let mine = slot.clone();
    std::thread::Builder::new()
        .name("ndp-op".into())
        .spawn(move || loop {
            let t = mine.take();
            // SAFETY: see `Task`; the caller is blocked in `split` until `done`.
            let f = unsafe { &*t.f };
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| f(t.lo, t.hi))) {
                *t.latch.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
            }
            t.latch.done();
        })
        .expect("spawning an op worker thread");
    slot
}

/// Runs `f(lo, hi)` over `0..n` split into `threads()` contiguous parts (the first on this
/// thread, the others on the workers), or in one call when `n` is below `min_split` per part
/// or the workers are busy with another caller's split (a nested or concurrent one).
pub fn split(n: usize, min_split: usize, f: impl Fn(usize, usize) + Sync) {
    let parts = threads().min(n / min_split.max(1)).max(1);
    if parts == 1 {
        f(0, n);
        return;
    }
    let mut workers = match WORKERS.try_lock() {
        Ok(w) => w,
        // A panic while spawning a worker poisons the list, which stays valid.
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => {
            f(0, n);
            return;
        }
    };
    while workers.len() < parts - 1 {
        workers.push(spawn_worker());
    }
    let bound = |i: usize| n * i / parts;
    let latch = Arc::new(Latch {
        left: AtomicUsize::new(parts - 1),
        lock: Mutex::new(()),
        zero: Condvar::new(),
        panic: Mutex::new(None),
    });
    let f: &(dyn Fn(usize, usize) + Sync) = &f;
    // SAFETY: erases the borrow's lifetime for the channel; every task is waited for below.
    let fp: *const (dyn Fn(usize, usize) + Sync + 'static) = unsafe { std::mem::transmute(f) };
    for (i, w) in workers.iter().take(parts - 1).enumerate() {
        w.post(Task {
            f: fp,
            lo: bound(i + 1),
            hi: bound(i + 2),
            latch: latch.clone(),
        });
    }
    let mine = catch_unwind(AssertUnwindSafe(|| f(0, bound(1))));
    latch.wait();
    drop(workers);
    if let Err(p) = mine {
        resume_unwind(p);
    }
    let theirs = latch.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = theirs {
        resume_unwind(p);
    }
}

/// Raw pointer for disjoint writes from the parts of a split.
#[derive(Clone, Copy)]
pub(crate) struct Out<T>(pub *mut T);
unsafe impl<T> Send for Out<T> {}
unsafe impl<T> Sync for Out<T> {}

impl<T> Out<T> {
    /// The `len` values from element `at`.
    ///
    /// # Safety
    /// In bounds of the allocation, and no other live slice overlaps it.
    pub unsafe fn part<'a>(self, at: usize, len: usize) -> &'a mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_once_and_panics_reach_the_caller() {
        set_threads(3);
        for n in [1, 2, 3, 7, 64] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            split(n, 1, |lo, hi| {
                for h in &hits[lo..hi] {
                    h.fetch_add(1, Ordering::Relaxed);
                }
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "n = {n}"
            );
        }
        let r = catch_unwind(|| split(9, 1, |lo, _| assert!(lo == 0, "part from {lo}")));
        assert!(r.is_err(), "a worker's panic must reach the caller");
        // The workers survive a panic and serve the next split.
        let sum = AtomicUsize::new(0);
        split(9, 1, |lo, hi| {
            sum.fetch_add((lo..hi).sum(), Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 36);
    }
}
