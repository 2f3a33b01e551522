//! Node benchmarks: controller tick compute, loop jitter at controller rate, and
//! observation-to-command latency over the embedded DDS transport (loopback only).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use candle_core::Device;
use futures::StreamExt;
use ndp_ros::dmp::DmpConfig;
use ndp_ros::msgs::{DmpPlan, Header, Image, JointState, Time};
use ndp_ros::node::planner::PolicyPlanner;
use ndp_ros::node::run::run;
use ndp_ros::node::{Controller, NodeParams, PlanInput, Planner};
#[cfg(feature = "dds")]
use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
use ndp_ros::ros::memory::MemoryTransport;
use ndp_ros::ros::names::NameResolver;
use ndp_ros::ros::{ParamMap, ParamValue, Qos, Transport};
use ndp_ros::train::{checkpoint, RunConfig};
use serde_json::json;

use crate::bench::{pct, report};

const STATE_CONFIG: &str = include_str!("../../../config/state_ndp.yaml");

/// Fixed (g, w): the tick cost without the network.
struct Fixed(Vec<f64>, Vec<f64>);
impl Planner for Fixed {
    fn plan(&mut self, _: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        Ok((self.0.clone(), self.1.clone()))
    }
}

fn joints(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("joint{i}")).collect()
}

fn params(n: usize, extra: &[(&str, ParamValue)]) -> Result<NodeParams> {
    let mut m = ParamMap::new();
    m.insert("checkpoint".into(), ParamValue::String("(bench)".into()));
    m.insert("joint_names".into(), ParamValue::StringArray(joints(n)));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    Ok(NodeParams::from_map(&m)?)
}

fn joint_state(n: usize, base: f64) -> JointState {
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

#[cfg(feature = "dds")]
/// Observation -> command latency over DDS: a peer participant publishes JointState (and, for
/// the image model, Image) with a fresh marker; the node (k = 1: a policy call every tick)
/// publishes a DmpPlan whose y0 carries the marker just before its command.
pub fn latency(as_json: bool, model: &str, samples: usize, rate: f64) -> Result<()> {
    let mut cfg: RunConfig = ndp_ros::yaml::parse(STATE_CONFIG, "config/state_ndp.yaml".as_ref())?;
    let image = match model {
        "state" => false,
        "image" => {
            cfg.model.encoder = ndp_ros::policy::EncoderKind::DigitCnn;
            cfg.model.input_size = 28;
            true
        }
        m => bail!("--model {m}: expected state or image"),
    };
    let d = cfg.model.dof;
    let (policy, _) = checkpoint::init(&cfg, &Device::Cpu)?;
    let mut extra = vec![
        ("rate_hz", ParamValue::Double(rate)),
        ("k", ParamValue::Integer(1)),
        ("publish_plan", ParamValue::Bool(true)),
        ("output", ParamValue::String("float64_array".into())),
        ("input_timeout_s", ParamValue::Double(5.0)),
    ];
    if image {
        extra.push(("observation", ParamValue::String("image".into())));
    }
    let p = params(d, &extra)?;
    let planner = PolicyPlanner::new(policy, &p)?;
    let ctl = Controller::new(p, planner, &cfg.dmp, cfg.model.input_size)?;
    let domain = 90 + (std::process::id() % 10) as u16;
    let opts = DdsOptions {
        domain_id: domain,
        loopback_only: true,
    };
    let node = Arc::new(DdsTransport::new(
        &opts,
        "/",
        "ndp_policy",
        ParamMap::new(),
    )?);
    let peer = DdsTransport::new(&opts, "/", "bench_peer", ParamMap::new())?;
    let names = NameResolver::new("ndp_policy", "/", &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let node_stop = stop.clone();
    let node_thread = std::thread::spawn(move || run(node, &names, ctl, node_stop, None));
    let js = peer.publisher::<JointState>("/joint_states", Qos::DEFAULT)?;
    let img = peer.publisher::<Image>("/camera/image_raw", Qos::SENSOR_DATA)?;
    let mut plans = peer.subscribe::<DmpPlan>("/ndp_policy/dmp_plan", Qos::DEFAULT)?;
    let frame = Image {
        header: Header::default(),
        height: 480,
        width: 640,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 640 * 3,
        data: (0..640 * 480 * 3).map(|i| (i % 251) as u8).collect(),
    };
    let mut lat_ms = Vec::new();
    let mut marker = 0.0f64;
    let started = Instant::now();
    // Discovery: keep sending until plans come back, then measure.
    let mut warm = 0;
    while lat_ms.len() < samples {
        if started.elapsed() > Duration::from_secs(120) {
            bail!(
                "only {} of {samples} latency samples in 120 s",
                lat_ms.len()
            );
        }
        marker += 1e-3;
        if image {
            img.publish(&frame)?;
        }
        let sent = Instant::now();
        js.publish(&joint_state(d, marker))?;
        // Wait for the plan made from this marker (or give up on this one after 200 ms).
        let got = futures::executor::block_on(async {
            loop {
                let next = futures::future::select(
                    plans.next(),
                    futures_timer(Duration::from_millis(200)),
                )
                .await;
                match next {
                    futures::future::Either::Left((Some(plan), _)) => {
                        if (plan.y0[0] - marker).abs() < 1e-12 {
                            return true;
                        }
                    }
                    _ => return false,
                }
            }
        });
        if got {
            if warm < 20 {
                warm += 1;
            } else {
                lat_ms.push(sent.elapsed().as_secs_f64() * 1e3);
            }
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    stop.store(true, Ordering::SeqCst);
    let _ = node_thread.join();
    report(
        as_json,
        &json!({
            "model": model, "rate_hz": rate, "samples": lat_ms.len(), "domain_id": domain,
            "latency_ms_p50": pct(&mut lat_ms, 50.0), "latency_ms_p99": pct(&mut lat_ms, 99.0),
            "latency_ms_max": pct(&mut lat_ms, 100.0),
            "note": "JointState published -> DmpPlan received (published in the same tick as the command); includes waiting for the next tick (up to 1/rate)",
        }),
    );
    Ok(())
}

#[cfg(feature = "dds")]
/// A timer future on a helper thread (no async runtime in this crate).
fn futures_timer(d: Duration) -> futures::channel::oneshot::Receiver<()> {
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    rx
}
