//! The executor's ticks allocate nothing, with plans arriving from a planner thread through
//! the triple buffer (a global allocator that counts on the executor's thread only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use ndp_ros::dmp::{DmpConfig, DmpStepper};
use ndp_ros::node::controller::executor;
use ndp_ros::node::inputs::{Inputs, Stamps, NEVER};
use ndp_ros::node::plan::Plan;
use ndp_ros::node::NodeParams;
use ndp_ros::ros::{ParamMap, ParamValue};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNT_HERE.with(|c| c.get()) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNT_HERE.with(|c| c.get()) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        System.dealloc(p, l)
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn executor_ticks_allocate_nothing_while_plans_arrive() {
    let d = 7;
    let mut m = ParamMap::new();
    m.insert("checkpoint".into(), ParamValue::String("/x".into()));
    m.insert(
        "joint_names".into(),
        ParamValue::StringArray((0..d).map(|i| format!("j{i}")).collect()),
    );
    m.insert("rate_hz".into(), ParamValue::Double(1000.0));
    m.insert(
        "position_min".into(),
        ParamValue::DoubleArray(vec![-1.0; d]),
    );
    m.insert("position_max".into(), ParamValue::DoubleArray(vec![1.0; d]));
    m.insert("velocity_max".into(), ParamValue::DoubleArray(vec![2.0; d]));
    m.insert(
        "acceleration_max".into(),
        ParamValue::DoubleArray(vec![50.0; d]),
    );
    let mut p = NodeParams::from_map(&m).unwrap();
    p.resolve_timing(Some(0.05), 10);
    let inputs = Arc::new(Inputs::new(&p));
    let (mut plan_in, mut plan_out) = triple_buffer::triple_buffer(&Plan::default());
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicUsize::new(0));
    // The executor's clock, which the planner stamps its plans with.
    let clock = Arc::new(AtomicI64::new(0));
    // The planner: new plans (allocating freely) as fast as it can.
    let planner = {
        let (stop, made, clock) = (stop.clone(), made.clone(), clock.clone());
        std::thread::spawn(move || {
            let cfg = DmpConfig::new(10, 10);
            let mut s = DmpStepper::new(&cfg, 7);
            let mut seq = 0;
            while !stop.load(Ordering::SeqCst) {
                seq += 1;
                let g: Vec<f64> = (0..7).map(|j| ((seq + j) % 5) as f64 * 0.3 - 0.6).collect();
                let w = vec![(seq % 7) as f64 * 10.0; 70];
                s.reset(&[0.1; 7], &[0.0; 7], &g, &w).unwrap();
                let buf = plan_in.input_buffer_mut();
                buf.fill_motion(
                    seq as u64,
                    clock.load(Ordering::SeqCst),
                    0.05,
                    &mut s,
                    10,
                    &[0.1; 7],
                    &[0.0; 7],
                    &g,
                    &w,
                );
                plan_in.publish();
                made.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
            }
        })
    };
    let mut exec = executor(&p);
    // Warm-up: the first plans and a hold size nothing new, but run them uncounted anyway.
    while made.load(Ordering::SeqCst) < 3 {
        std::hint::spin_loop();
    }
    let mut now = 0;
    let fresh = |now: i64| Stamps {
        state: now,
        obs: NEVER,
        state_seq: now as u64,
        obs_seq: 0,
    };
    for _ in 0..100 {
        now += 1_000_000;
        clock.store(now, Ordering::SeqCst);
        plan_out.update();
        exec.tick(now, fresh(now), plan_out.output_buffer(), &inputs.rejects);
    }
    let before_plans = made.load(Ordering::SeqCst);
    let (mut commands, mut new_plans, mut holds, mut resumes) = (0, 0, 0, 0);
    let mut state_stamp = now;
    COUNT_HERE.with(|c| c.set(true));
    for i in 0..20_000i64 {
        now += 1_000_000;
        clock.store(now, Ordering::SeqCst);
        // Inputs go stale for a while in the middle: holds and resumes are covered too.
        if !(8_000..9_000).contains(&i) {
            state_stamp = now;
        }
        plan_out.update();
        let t = exec.tick(
            now,
            fresh(state_stamp),
            plan_out.output_buffer(),
            &inputs.rejects,
        );
        commands += t.command as u32;
        new_plans += t.new_plan as u32;
        holds += t.hold_started as u32;
        resumes += t.resumed as u32;
        // Every 100 ticks, let a new plan arrive before going on (the node's executor never
        // waits; the test does, so that plans land throughout, the stale stretch included).
        if i % 100 == 0 {
            let seen = made.load(Ordering::SeqCst);
            while made.load(Ordering::SeqCst) < seen + 2 {
                std::thread::yield_now();
            }
        }
    }
    COUNT_HERE.with(|c| c.set(false));
    stop.store(true, Ordering::SeqCst);
    planner.join().unwrap();
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations on the executor's ticks"
    );
    assert_eq!(commands, 20_000);
    assert!(
        new_plans >= 100,
        "{new_plans} plans taken ({} made)",
        made.load(Ordering::SeqCst) - before_plans
    );
    assert!(holds >= 1, "the stale stretch held");
    assert!(
        resumes >= 1,
        "and resumed on a later plan ({holds} holds, {new_plans} plans)"
    );
    for v in &exec.setpoint().positions {
        assert!((-1.0..=1.0).contains(v));
    }
}
