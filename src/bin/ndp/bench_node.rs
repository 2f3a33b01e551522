//! Node benchmarks: controller tick compute and loop jitter at controller rate (the DDS
//! latency benchmark is in bench_dds.rs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use ndp_ros::dmp::DmpConfig;
use ndp_ros::msgs::{Header, JointState, Time};
use ndp_ros::node::run::run;
use ndp_ros::node::{Controller, NodeParams, PlanInput, Planner};
use ndp_ros::ros::memory::MemoryTransport;
use ndp_ros::ros::names::NameResolver;
use ndp_ros::ros::{ParamMap, ParamValue, Qos, Transport};
use serde_json::json;

use crate::bench::{pct, report};

/// Fixed (g, w): the tick cost without the network.
pub struct Fixed(Vec<f64>, Vec<f64>);
impl Planner for Fixed {
    fn plan(&mut self, _: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        Ok((self.0.clone(), self.1.clone()))
    }
}

pub fn joints(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("joint{i}")).collect()
}

pub fn params(n: usize, extra: &[(&str, ParamValue)]) -> Result<NodeParams> {
    let mut m = ParamMap::new();
    m.insert("checkpoint".into(), ParamValue::String("(bench)".into()));
    m.insert("joint_names".into(), ParamValue::StringArray(joints(n)));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    Ok(NodeParams::from_map(&m)?)
}

pub fn joint_state(n: usize, base: f64) -> JointState {
    JointState {
        header: Header::default(),
        name: joints(n),
        position: (0..n).map(|i| base + 0.01 * i as f64).collect(),
        velocity: vec![0.0; n],
        effort: vec![],
    }
}

/// Controller tick compute, 7 DoF, N = 30, one Euler sub-step a tick, with limits on.
pub fn tick(as_json: bool) -> Result<()> {
    let (d, n) = (7, 30);
    let cfg = DmpConfig::new(n, 300);
    let limits = [
        ("position_min", ParamValue::DoubleArray(vec![-3.0; d])),
        ("position_max", ParamValue::DoubleArray(vec![3.0; d])),
        ("velocity_max", ParamValue::DoubleArray(vec![2.0; d])),
        ("rate_hz", ParamValue::Double(1000.0)),
    ];
    let w: Vec<f64> = (0..d * n)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) * 2.0)
        .collect();
    let mut ctl = Controller::new(params(d, &limits)?, Fixed(vec![0.5; d], w), &cfg, 28)?;
    let mut plain = Vec::new();
    let mut planning = Vec::new();
    let mut t_ns = 0i64;
    for round in 0..400 {
        ctl.on_joint_state(
            &joint_state(d, 0.001 * round as f64),
            Time::from_nanos(t_ns),
        );
        for _ in 0..cfg.t {
            t_ns += 1_000_000;
            let t0 = Instant::now();
            let tick = ctl.tick(Time::from_nanos(t_ns));
            let us = t0.elapsed().as_secs_f64() * 1e6;
            if tick.new_plan {
                planning.push(us)
            } else {
                plain.push(us)
            }
        }
    }
    report(
        as_json,
        &json!({
            "dof": d, "N": n, "ticks": plain.len() + planning.len(),
            "tick_us_p50": pct(&mut plain, 50.0), "tick_us_p99": pct(&mut plain, 99.0),
            "tick_us_max": pct(&mut plain, 100.0),
            "plan_tick_us_p50": pct(&mut planning, 50.0),
            "note": "plan ticks include the k-point horizon and exclude the network (fixed planner)",
        }),
    );
    Ok(())
}

/// Loop timing at `rate` Hz for `seconds` over the in-memory transport (the loop itself, no
/// network): lateness of each tick against its deadline.
pub fn jitter(as_json: bool, rate: f64, seconds: f64) -> Result<()> {
    let (d, n) = (7, 30);
    let mut cfg = DmpConfig::new(n, 50);
    cfg.substeps = 1;
    let p = params(
        d,
        &[
            ("rate_hz", ParamValue::Double(rate)),
            ("input_timeout_s", ParamValue::Double(60.0)),
        ],
    )?;
    let w: Vec<f64> = vec![10.0; d * n];
    let ctl = Controller::new(p.clone(), Fixed(vec![0.5; d], w), &cfg, 28)?;
    let t = Arc::new(MemoryTransport::new("bench", ParamMap::new()));
    let names = NameResolver::new("bench", "/", &[]);
    let js = t.publisher::<JointState>("/joint_states", Qos::DEFAULT)?;
    let feeder = t.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    // Joint states at 200 Hz with a moving clock, as a driver would send them.
    let feed = std::thread::spawn(move || {
        let start = Instant::now();
        while !stop2.load(Ordering::SeqCst) {
            let now = Time::from_nanos(start.elapsed().as_nanos() as i64);
            feeder.set_time(now);
            let _ = js.publish(&joint_state(d, 0.0));
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let ticks = (rate * seconds) as u64;
    let stats = run(t, &names, ctl, stop.clone(), Some(ticks))?;
    stop.store(true, Ordering::SeqCst);
    let _ = feed.join();
    let mut late = stats.lateness_us.clone();
    report(
        as_json,
        &json!({
            "rate_hz": rate, "seconds": seconds, "ticks": stats.ticks,
            "missed_ticks": stats.missed_ticks,
            "lateness_us_p50": pct(&mut late, 50.0), "lateness_us_p99": pct(&mut late, 99.0),
            "lateness_us_max": pct(&mut late, 100.0),
            "published": stats.published,
        }),
    );
    Ok(())
}
