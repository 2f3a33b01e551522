//! Observation-to-command latency over the embedded DDS transport: a peer participant and the
//! node, both loopback-only, in one process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use candle_core::Device;
use futures::StreamExt;
use ndp_ros::msgs::{DmpPlan, Image, JointState};
use ndp_ros::node::planner::PolicyPlanner;
use ndp_ros::node::run::run;
use ndp_ros::node::Controller;
use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
use ndp_ros::ros::names::NameResolver;
use ndp_ros::ros::{ParamMap, ParamValue, Qos, Transport};
use ndp_ros::train::checkpoint;
use serde_json::json;

use crate::bench::{pct, report};
use crate::bench_node::{bench_model, joint_state, params, vga_frame};

/// Observation -> command latency over DDS: a peer participant publishes JointState (and, for
/// the image model, Image) with a fresh marker; the node (a policy call every tick)
/// publishes a DmpPlan whose y0 carries the marker just before its command.
pub fn latency(as_json: bool, model: &str, samples: usize, rate: f64) -> Result<()> {
    let (cfg, image) = bench_model(model)?;
    let d = cfg.model.dof;
    let (policy, _) = checkpoint::init(&cfg, &Device::Cpu)?;
    let mut extra = vec![
        ("rate_hz", ParamValue::Double(rate)),
        ("replan_period_s", ParamValue::Double(1.0 / rate)),
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
    let frame = vga_frame();
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

/// A timer future on a helper thread (no async runtime in this crate).
fn futures_timer(d: Duration) -> futures::channel::oneshot::Receiver<()> {
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    rx
}
