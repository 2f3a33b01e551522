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

/// The benchmarks' models: `state` (config/state_ndp.yaml, built in) or `image` (the same
/// with the digit CNN on 28x28 frames); true for the image one.
pub fn bench_model(model: &str) -> Result<(ndp_ros::train::RunConfig, bool)> {
    let mut cfg: ndp_ros::train::RunConfig = ndp_ros::yaml::parse(
        include_str!("../../../config/state_ndp.yaml"),
        "config/state_ndp.yaml".as_ref(),
    )?;
    let image = match model {
        "state" => false,
        "image" => {
            cfg.model.encoder = ndp_ros::policy::EncoderKind::DigitCnn;
            cfg.model.input_size = 28;
            true
        }
        m => anyhow::bail!("--model {m}: expected state or image"),
    };
    Ok((cfg, image))
}

/// A 640x480 rgb8 camera frame with a non-constant pattern, as the benchmarks feed the node.
pub fn vga_frame() -> ndp_ros::msgs::Image {
    ndp_ros::msgs::Image {
        header: Header::default(),
        height: 480,
        width: 640,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 640 * 3,
        data: (0..640 * 480 * 3).map(|i| (i % 251) as u8).collect(),
    }
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

/// Resident memory of this process in MB (VmRSS).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn us(h: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1e3
}

/// The threaded node at `rate` Hz for `seconds` over the in-memory transport, with a real
/// (randomly initialised) network planning: `state` (the 7-DoF MLP of config/state_ndp.yaml,
/// joint states at 200 Hz) or `image` (the digit CNN on 640x480 rgb8 frames at 30 Hz, joint
/// states at 200 Hz). Tick lateness, executor compute, planning latency, memory.
pub fn jitter(
    as_json: bool,
    rate: f64,
    seconds: f64,
    model: &str,
    (rt, cpu): (usize, Option<usize>),
    baseline: bool,
) -> Result<()> {
    let (cfg, image) = bench_model(model)?;
    let bare = if baseline {
        Some(bare_timer(rate, seconds, rt, cpu))
    } else {
        None
    };
    let d = cfg.model.dof;
    let (policy, _) = ndp_ros::train::checkpoint::init(&cfg, &candle_core::Device::Cpu)?;
    let mut extra = vec![
        ("rate_hz", ParamValue::Double(rate)),
        ("output", ParamValue::String("float64_array".into())),
        ("input_timeout_s", ParamValue::Double(1.0)),
        // The checkpoint's 5 DMP intervals as 0.25 s (a 20 Hz policy), whatever the rate.
        ("plan_duration_s", ParamValue::Double(0.25)),
        ("position_min", ParamValue::DoubleArray(vec![-3.0; d])),
        ("position_max", ParamValue::DoubleArray(vec![3.0; d])),
        ("velocity_max", ParamValue::DoubleArray(vec![2.0; d])),
        ("realtime_priority", ParamValue::Integer(rt as i64)),
        (
            "executor_cpu",
            ParamValue::Integer(cpu.map_or(-1, |c| c as i64)),
        ),
    ];
    if image {
        extra.push(("observation", ParamValue::String("image".into())));
    }
    let p = params(d, &extra)?;
    let planner = ndp_ros::node::planner::PolicyPlanner::new(policy, &p)?;
    let ctl = Controller::new(p, planner, &cfg.dmp, cfg.model.input_size)?;
    let t = Arc::new(MemoryTransport::new("bench", ParamMap::new()));
    let names = NameResolver::new("bench", "/", &[]);
    let js = t.publisher::<JointState>("/joint_states", Qos::DEFAULT)?;
    let img = t.publisher::<ndp_ros::msgs::Image>("/camera/image_raw", Qos::SENSOR_DATA)?;
    let frame = vga_frame();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    // Joint states at 200 Hz and camera frames at 30 Hz, as a driver and a camera send them.
    let feed = std::thread::spawn(move || {
        let start = Instant::now();
        let mut next_frame = 0.0;
        while !stop2.load(Ordering::SeqCst) {
            let _ = js.publish(&joint_state(d, 0.0));
            let t = start.elapsed().as_secs_f64();
            if image && t >= next_frame {
                let _ = img.publish(&frame);
                next_frame += 1.0 / 30.0;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let rss_start = rss_mb();
    let ticks = (rate * seconds) as u64;
    let steal_start = steal_ms();
    let stats = run(t, &names, ctl, stop.clone(), Some(ticks))?;
    let steal = steal_ms() - steal_start;
    let rss_end = rss_mb();
    stop.store(true, Ordering::SeqCst);
    let _ = feed.join();
    report(
        as_json,
        &json!({
            "model": model, "realtime_priority": rt, "executor_cpu": cpu, "rate_hz": rate, "seconds": seconds, "ticks": stats.ticks,
            "missed_ticks": stats.missed_ticks,
            "lateness_us_p50": us(&stats.lateness_ns, 0.5), "lateness_us_p99": us(&stats.lateness_ns, 0.99),
            "lateness_us_max": stats.lateness_ns.max() as f64 / 1e3,
            "compute_us_p50": us(&stats.compute_ns, 0.5), "compute_us_p99": us(&stats.compute_ns, 0.99),
            "planning_ms_p50": us(&stats.planning_ns, 0.5) / 1e3, "planning_ms_p99": us(&stats.planning_ns, 0.99) / 1e3,
            "plans": stats.plans, "published": stats.published,
            "rss_mb_start": rss_start, "rss_mb_end": rss_end, "steal_ms": steal,
            "bare_timer": bare,
        }),
    );
    Ok(())
}

/// CPU time the hypervisor gave to others while this VM wanted it (/proc/stat's `steal`, all
/// CPUs), in ms; 0 where the kernel does not say.
fn steal_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: f64 = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .and_then(|l| l.split_whitespace().nth(8))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    ticks * 10.0
}

/// The executor's deadline loop (node::ticker) with no work, at `rate` Hz for `seconds` on
/// this thread, at SCHED_FIFO `rt` (0: normal): missed ticks and lateness that no node code
/// causes. The priority is set back to normal afterwards.
fn bare_timer(rate: f64, seconds: f64, rt: usize, cpu: Option<usize>) -> serde_json::Value {
    use ndp_ros::node::ticker::{isolate_on, realtime, Ticker};
    if let Some(c) = cpu {
        if let Err(e) = isolate_on(c) {
            eprintln!("bare timer: not pinned to CPU {c}: {e}");
        }
    }
    let mut policy_set = false;
    if rt > 0 {
        policy_set = realtime(rt as i32).is_ok();
    }
    let mut lateness = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .expect("valid histogram bounds");
    let (mut missed, mut stalls) = (0u64, 0u64);
    let steal_start = steal_ms();
    let mut ticker = Ticker::new(Duration::from_secs_f64(1.0 / rate));
    for _ in 0..(rate * seconds) as u64 {
        let w = ticker.wait();
        missed += w.skipped;
        stalls += u64::from(w.skipped > 0);
        lateness.saturating_record(w.lateness.as_nanos() as u64);
    }
    if policy_set {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: back to normal scheduling for the calling thread; a plain struct.
        unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_OTHER, &param) };
    }
    if cpu.is_some() {
        // Every CPU again for this thread, so that the node's threads it starts are not
        // pinned with it (the node then isolates its executor itself).
        // SAFETY: cpu_set_t is plain data; sets this thread's affinity.
        unsafe {
            let mut all: libc::cpu_set_t = std::mem::zeroed();
            for c in 0..libc::CPU_SETSIZE as usize {
                libc::CPU_SET(c, &mut all);
            }
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &all);
        }
    }
    json!({
        "ticks": (rate * seconds) as u64, "missed_ticks": missed, "stalls": stalls,
        "lateness_us_p50": us(&lateness, 0.5), "lateness_us_p99": us(&lateness, 0.99),
        "lateness_us_max": lateness.max() as f64 / 1e3,
        "steal_ms": steal_ms() - steal_start,
    })
}
