//! The node's loop over a transport: inputs arrive on a thread and are handed over through a
//! channel; the control thread drains them, ticks the controller at the controller rate with
//! deadline scheduling (sleep, then spin the last stretch), and publishes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use futures::stream::{select_all, StreamExt};

use super::controller::{Controller, Planner, Setpoint, Tick};
use super::params::{NodeParams, ObservationMode, OutputMode};
use crate::error::Result;
use crate::msgs::{
    DmpPlan, Duration, Float64MultiArray, Header, Image, JointState, JointTrajectory,
    JointTrajectoryPoint, MultiArrayDimension, MultiArrayLayout, Point, Pose, PoseStamped,
    Quaternion, Time,
};
use crate::ros::names::NameResolver;
use crate::ros::{Publisher, Transport};

enum Input {
    Joints(JointState),
    Image(Image),
    Pose(PoseStamped),
}

/// Loop statistics: the controller-rate figures of the benchmarks.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    pub ticks: u64,
    pub missed_ticks: u64,
    pub published: u64,
    /// Wall-clock start of every tick relative to its deadline, in microseconds.
    pub lateness_us: Vec<f64>,
}

/// The publishers of the configured output mode.
enum Out {
    Trajectory(Box<dyn Publisher<JointTrajectory>>),
    Array(Box<dyn Publisher<Float64MultiArray>>),
    Pose(Box<dyn Publisher<PoseStamped>>),
}

/// How long to sleep before spinning to a deadline: OS sleeps overshoot by tens of us.
const SPIN_MARGIN: StdDuration = StdDuration::from_micros(150);

/// Runs until `stop` is set; then publishes a final hold (if anything was commanded).
pub fn run<T: Transport, P: Planner>(
    transport: Arc<T>,
    names: &NameResolver,
    mut ctl: Controller<P>,
    stop: Arc<AtomicBool>,
    max_ticks: Option<u64>,
) -> Result<RunStats> {
    let p = ctl.params().clone();
    let (tx, rx) = mpsc::channel::<Input>();
    let mut streams = Vec::new();
    if p.output == OutputMode::Pose {
        let s =
            transport.subscribe::<PoseStamped>(&names.resolve(&p.ee_pose_topic), p.state_qos)?;
        streams.push(s.map(Input::Pose).boxed());
    } else {
        let s =
            transport.subscribe::<JointState>(&names.resolve(&p.joint_state_topic), p.state_qos)?;
        streams.push(s.map(Input::Joints).boxed());
    }
    if p.observation != ObservationMode::State {
        let s = transport.subscribe::<Image>(&names.resolve(&p.image_topic), p.image_qos)?;
        streams.push(s.map(Input::Image).boxed());
    }
    std::thread::Builder::new()
        .name("ndp-inputs".into())
        .spawn(move || {
            futures::executor::block_on(select_all(streams).for_each(|m| {
                let _ = tx.send(m);
                futures::future::ready(())
            }))
        })
        .map_err(|e| crate::Error::io("input thread", e))?;
    let cmd_topic = names.resolve(&p.command_topic);
    let out = match p.output {
        OutputMode::JointTrajectory => {
            Out::Trajectory(transport.publisher(&cmd_topic, p.command_qos)?)
        }
        OutputMode::Float64Array => Out::Array(transport.publisher(&cmd_topic, p.command_qos)?),
        OutputMode::Pose => Out::Pose(transport.publisher(&cmd_topic, p.command_qos)?),
    };
    let plan_pub: Option<Box<dyn Publisher<DmpPlan>>> = if p.publish_plan {
        Some(transport.publisher(&names.resolve(&p.plan_topic), crate::ros::Qos::DEFAULT)?)
    } else {
        None
    };
    tracing::info!(
        "{}: {:?} -> {:?} on {cmd_topic} at {} Hz, a policy call every {} ticks",
        transport.node_name(),
        p.observation,
        p.output,
        p.rate_hz,
        ctl.k()
    );
    let period = StdDuration::from_secs_f64(1.0 / p.rate_hz);
    let mut stats = RunStats::default();
    let mut deadline = Instant::now() + period;
    let mut commanded = false;
    while !stop.load(Ordering::SeqCst) && max_ticks.is_none_or(|m| stats.ticks < m) {
        let now = transport.now();
        while let Ok(m) = rx.try_recv() {
            match m {
                Input::Joints(j) => ctl.on_joint_state(&j, now),
                Input::Image(i) => ctl.on_image(&i, now),
                Input::Pose(q) => ctl.on_pose(&q, now),
            }
        }
        let tick = ctl.tick(now);
        if let (true, Some(pp)) = (tick.new_plan, &plan_pub) {
            publish_logged(pp.as_ref(), ctl.plan());
        }
        if publish(&out, &p, &ctl, tick, now) {
            stats.published += 1;
            commanded = true;
        }
        stats.ticks += 1;
        // Deadline scheduling: sleep most of the way, spin the rest.
        let late = Instant::now().saturating_duration_since(deadline);
        if late > period {
            let skip = (late.as_nanos() / period.as_nanos()) as u32;
            stats.missed_ticks += skip as u64;
            deadline += period * skip;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait > SPIN_MARGIN {
            std::thread::sleep(wait - SPIN_MARGIN);
        }
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
        let woke = Instant::now();
        stats
            .lateness_us
            .push(woke.saturating_duration_since(deadline).as_secs_f64() * 1e6);
        deadline += period;
    }
    if commanded {
        // Final hold: the last command at rest, so the robot stops where it is.
        let hold = Setpoint {
            positions: ctl.setpoint().positions.clone(),
            velocities: vec![0.0; ctl.setpoint().positions.len()],
        };
        publish_setpoint(&out, &p, &hold, transport.now());
        tracing::info!("stopped after {} ticks: final hold published", stats.ticks);
    }
    Ok(stats)
}

fn publish_logged<M>(p: &dyn Publisher<M>, msg: &M) -> bool {
    match p.publish(msg) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e}");
            false
        }
    }
}

/// Publishes what this tick produced in the configured form; true if something went out.
fn publish<P: Planner>(
    out: &Out,
    p: &NodeParams,
    ctl: &Controller<P>,
    tick: Tick,
    now: Time,
) -> bool {
    if !tick.command {
        return false;
    }
    match out {
        Out::Trajectory(tp) => {
            if tick.new_plan {
                publish_logged(tp.as_ref(), &trajectory(p, ctl.horizon()))
            } else if tick.hold_started {
                publish_setpoint(out, p, ctl.setpoint(), now)
            } else {
                false
            }
        }
        _ => publish_setpoint(out, p, ctl.setpoint(), now),
    }
}

fn publish_setpoint(out: &Out, p: &NodeParams, sp: &Setpoint, now: Time) -> bool {
    match out {
        Out::Trajectory(tp) => {
            publish_logged(tp.as_ref(), &trajectory(p, std::slice::from_ref(sp)))
        }
        Out::Array(ap) => publish_logged(ap.as_ref(), &float_array(p, sp)),
        Out::Pose(pp) => publish_logged(pp.as_ref(), &pose(p, sp, now)),
    }
}

/// header.stamp zero: joint_trajectory_controller starts it on receipt, replacing the rest of
/// the previous one; point i is due (i + 1) controller periods from now.
pub fn trajectory(p: &NodeParams, points: &[Setpoint]) -> JointTrajectory {
    JointTrajectory {
        header: Header {
            stamp: Time::default(),
            frame_id: p.frame_id.clone(),
        },
        joint_names: p.joint_names.clone(),
        points: points
            .iter()
            .enumerate()
            .map(|(i, sp)| JointTrajectoryPoint {
                positions: sp.positions.clone(),
                velocities: sp.velocities.clone(),
                accelerations: vec![],
                effort: vec![],
                time_from_start: Duration::from_secs_f64((i + 1) as f64 / p.rate_hz),
            })
            .collect(),
    }
}

/// One setpoint for a forward position controller; the controller fixes the joint order, the
/// dimension label records the order we used.
pub fn float_array(p: &NodeParams, sp: &Setpoint) -> Float64MultiArray {
    let n = sp.positions.len() as u32;
    Float64MultiArray {
        layout: MultiArrayLayout {
            dim: vec![MultiArrayDimension {
                label: p.joint_names.join(","),
                size: n,
                stride: 1,
            }],
            data_offset: 0,
        },
        data: sp.positions.clone(),
    }
}

pub fn pose(p: &NodeParams, sp: &Setpoint, now: Time) -> PoseStamped {
    let q = p.pose_orientation;
    PoseStamped {
        header: Header {
            stamp: now,
            frame_id: p.frame_id.clone(),
        },
        pose: Pose {
            position: Point {
                x: sp.positions[0],
                y: sp.positions[1],
                z: sp.positions[2],
            },
            orientation: Quaternion {
                x: q[0],
                y: q[1],
                z: q[2],
                w: q[3],
            },
        },
    }
}
