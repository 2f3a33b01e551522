//! Recording live topics into an MCAP bag (what `ros2 bag record` does, without ROS): typed
//! subscriptions through any `Transport`, every message written with its receive time, until
//! stopped. The bag is finished (readable) however recording ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::bag::BagWriter;
use crate::error::{Error, Result};
use crate::msgs::{
    DmpPlan, Float64MultiArray, Image, JointState, JointTrajectory, PoseStamped, RosMessage,
};
use crate::ros::{Qos, Transport};

/// The message types that can be recorded.
pub const TYPES: [&str; 6] = [
    "sensor_msgs/msg/JointState",
    "sensor_msgs/msg/Image",
    "std_msgs/msg/Float64MultiArray",
    "trajectory_msgs/msg/JointTrajectory",
    "geometry_msgs/msg/PoseStamped",
    "ndp_ros_msgs/msg/DmpPlan",
];

enum Any {
    JointState(JointState),
    Image(Image),
    Array(Float64MultiArray),
    Trajectory(JointTrajectory),
    Pose(PoseStamped),
    Plan(DmpPlan),
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordSummary {
    pub bag: PathBuf,
    pub messages: u64,
    pub seconds: f64,
}

fn now_ns() -> u64 {
    crate::msgs::Time::wall_now().nanos().max(0) as u64
}

fn forward<T: Transport, M: RosMessage>(
    t: &T,
    topic: &str,
    tx: Sender<(String, u64, Any)>,
    wrap: fn(M) -> Any,
) -> Result<()> {
    let mut stream = t.subscribe::<M>(topic, Qos::DEFAULT)?;
    let topic = topic.to_string();
    std::thread::Builder::new()
        .name("record-rx".into())
        .spawn(move || {
            futures::executor::block_on(async move {
                while let Some(m) = stream.next().await {
                    if tx.send((topic.clone(), now_ns(), wrap(m))).is_err() {
                        break;
                    }
                }
            })
        })
        .map_err(|e| Error::io("record thread", e))?;
    Ok(())
}

/// Records `topics` ((name, ROS type) pairs) into a new bag at `out` until `stop` is set or
/// `duration` has passed.
pub fn record<T: Transport>(
    t: &T,
    topics: &[(String, String)],
    out: &Path,
    duration: Option<Duration>,
    stop: &AtomicBool,
    mut on_message: impl FnMut(u64),
) -> Result<RecordSummary> {
    if topics.is_empty() {
        return Err(Error::invalid(
            "--topic",
            "name at least one topic to record",
        ));
    }
    let (tx, rx) = channel();
    for (name, ty) in topics {
        let tx = tx.clone();
        match ty.as_str() {
            "sensor_msgs/msg/JointState" => forward(t, name, tx, Any::JointState)?,
            "sensor_msgs/msg/Image" => forward(t, name, tx, Any::Image)?,
            "std_msgs/msg/Float64MultiArray" => forward(t, name, tx, Any::Array)?,
            "trajectory_msgs/msg/JointTrajectory" => forward(t, name, tx, Any::Trajectory)?,
            "geometry_msgs/msg/PoseStamped" => forward(t, name, tx, Any::Pose)?,
            "ndp_ros_msgs/msg/DmpPlan" => forward(t, name, tx, Any::Plan)?,
            other => {
                return Err(Error::invalid(
                    format!("--topic {name}"),
                    format!(
                        "type `{other}` cannot be recorded; known: {}",
                        TYPES.join(", ")
                    ),
                ))
            }
        }
    }
    drop(tx);
    let mut bag = BagWriter::create(out)?;
    let started = Instant::now();
    let mut n = 0u64;
    let result = (|| -> Result<()> {
        while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| started.elapsed() < d) {
            let (topic, t_ns, m) = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(x) => x,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            match &m {
                Any::JointState(m) => bag.write(&topic, t_ns, m)?,
                Any::Image(m) => bag.write(&topic, t_ns, m)?,
                Any::Array(m) => bag.write(&topic, t_ns, m)?,
                Any::Trajectory(m) => bag.write(&topic, t_ns, m)?,
                Any::Pose(m) => bag.write(&topic, t_ns, m)?,
                Any::Plan(m) => bag.write(&topic, t_ns, m)?,
            }
            n += 1;
            on_message(n);
        }
        Ok(())
    })();
    let path = bag.finish()?;
    result?;
    Ok(RecordSummary {
        bag: path,
        messages: n,
        seconds: started.elapsed().as_secs_f64(),
    })
}
