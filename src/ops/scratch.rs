//! Reused f32 buffers for the ops' large temporaries (im2col matrices, their gradients): fresh
//! multi-megabyte allocations would page-fault on every train step.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
/// More than the ops ever hold at once in one train step.
const KEEP: usize = 8;

/// A buffer of `len` floats, from the pool when one is big enough; back to the pool on drop.
/// The contents are unspecified: callers overwrite (or clear) every element they read.
pub struct Scratch(Vec<f32>);

impl Scratch {
    pub fn new(len: usize) -> Self {
        let mut pool = POOL.lock().expect("scratch pool");
        let best = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= len)
            .min_by_key(|&i| pool[i].capacity());
        let mut v = match best {
            Some(i) => pool.swap_remove(i),
            None => Vec::with_capacity(len),
        };
        drop(pool);
        // Only grows on fresh buffers: reused ones keep their old values (overwritten by callers).
        v.resize(len, 0.0);
        Scratch(v)
    }
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        let mut pool = POOL.lock().expect("scratch pool");
        if pool.len() < KEEP {
            pool.push(v);
        } else if let Some(i) = (0..pool.len()).min_by_key(|&i| pool[i].capacity()) {
            if pool[i].capacity() < v.capacity() {
                pool[i] = v;
            }
        }
    }
}
