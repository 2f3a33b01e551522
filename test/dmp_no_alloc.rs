//! The controller-rate stepper allocates nothing per tick (a counting global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndp_ros::dmp::{DmpConfig, DmpStepper, Kernel};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn reset_and_step_do_not_allocate() {
    for kernel in [Kernel::Gaussian, Kernel::InverseMultiquadric] {
        let mut cfg = DmpConfig::new(30, 300);
        cfg.kernel = kernel;
        let mut s = DmpStepper::new(&cfg, 7);
        let w = vec![1.5; 7 * 30];
        let before = ALLOCS.load(Ordering::SeqCst);
        for rep in 0..10 {
            s.reset(&[rep as f64; 7], &[0.0; 7], &[1.0; 7], &w).unwrap();
            for _ in 0..300 {
                s.step();
            }
        }
        let after = ALLOCS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{kernel:?}: allocations in the control loop"
        );
        assert!(s.position().iter().all(|y| y.is_finite()));
    }
}
