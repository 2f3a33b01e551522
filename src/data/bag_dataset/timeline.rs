//! One bag read into time series, one pass over its messages as the storage hands them out
//! (`Bag::for_each_message`: MCAP message bytes borrowed from the mapped file, camera frames
//! decoded as `ImageRef` and reduced to the model's input size at once). Nothing but the
//! reduced values is kept, so a bag of 640x480 frames costs its 28x28 inputs, not its bytes.
//! Times are the bags' log (receive) times: every message has one, header stamps are optional.

use std::path::Path;

use super::config::{Align, BagDataConfig};
use super::samples::DatasetInfo;
use crate::bag::cdr::decode_cdr;
use crate::bag::mcap_walk::MessageRef;
use crate::bag::Bag;
use crate::data::ros_input::{image_input, reorder, Reject};
use crate::error::{Error, Result};
use crate::msgs::{Float64MultiArray, ImageRef, JointState, JointTrajectory, RosMessage};

/// A time series of messages (times in ns, increasing once `sort`ed).
pub struct Series<T> {
    pub t: Vec<u64>,
    pub v: Vec<T>,
}

impl<T> Default for Series<T> {
    fn default() -> Self {
        Series {
            t: vec![],
            v: vec![],
        }
    }
}

impl<T> Series<T> {
    fn push(&mut self, t: u64, v: T) {
        self.t.push(t);
        self.v.push(v);
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// In time order, stable for equal times (storage order within a file is not promised to
    /// be time order, and a bag may have several files).
    fn sort(&mut self) {
        if self.t.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut pairs: Vec<(u64, T)> = std::mem::take(&mut self.t)
            .into_iter()
            .zip(std::mem::take(&mut self.v))
            .collect();
        pairs.sort_by_key(|p| p.0); // stable
        (self.t, self.v) = pairs.into_iter().unzip();
    }

    /// The message read at `t`: `Latest`, the newest at or before `t` (None before the
    /// first); otherwise the closest in time (clamped to the series' span). None if empty.
    pub fn index(&self, t: u64, align: Align) -> Option<usize> {
        if align == Align::Latest {
            return self.t.partition_point(|&x| x <= t).checked_sub(1);
        }
        let n = self.t.len();
        let i = self.t.partition_point(|&x| x < t);
        match (i.checked_sub(1), i < n) {
            (Some(a), true) if t - self.t[a] <= self.t[i] - t => Some(a),
            (Some(a), false) => Some(a),
            (_, true) => Some(i),
            (None, false) => None,
        }
    }
}

impl Series<Vec<f64>> {
    /// The value at `t` (clamped to the series' span; `Interpolate` between neighbours).
    pub fn at(&self, t: u64, align: Align) -> Option<Vec<f64>> {
        let n = self.t.len();
        let i = self.t.partition_point(|&x| x < t);
        if align != Align::Interpolate || i == 0 || i == n {
            return self.index(t, align).map(|k| self.v[k].clone());
        }
        let (t0, t1) = (self.t[i - 1], self.t[i]);
        let w = if t1 > t0 {
            (t - t0) as f64 / (t1 - t0) as f64
        } else {
            0.0
        };
        Some(
            self.v[i - 1]
                .iter()
                .zip(&self.v[i])
                .map(|(a, b)| a + (b - a) * w)
                .collect(),
        )
    }
}

/// What a bag holds for behaviour cloning, per stream.
#[derive(Default)]
pub struct Timelines {
    /// Positions then velocities, in `joints` order.
    pub state: Series<Vec<f64>>,
    /// Float64MultiArray observations (`observation: vector`).
    pub vector: Series<Vec<f64>>,
    /// Camera frames as the model's input (grayscale, side x side).
    pub images: Series<Vec<f32>>,
    /// Commanded positions in `joints` order.
    pub action: Series<Vec<f64>>,
    pub markers: Vec<u64>,
}

fn place(file: &Path, m: &MessageRef<'_>) -> String {
    format!("{}: topic {}, message {}", file.display(), m.topic, m.index)
}

/// Decodes as `T` (which may borrow the message's bytes), errors naming file, topic, message.
fn decode<'a, T: serde::Deserialize<'a>>(file: &Path, m: &MessageRef<'a>, ty: &str) -> Result<T> {
    if m.msg_type != ty {
        return Err(Error::invalid(
            place(file, m),
            format!("type {}, expected {ty}", m.msg_type),
        ));
    }
    decode_cdr(m.data, ty, || place(file, m))
}

/// Reads the configured topics of the bag at `path`; images reduced to `image_side`.
pub fn read(
    cfg: &BagDataConfig,
    path: &Path,
    image_side: usize,
    info: &mut DatasetInfo,
) -> Result<Timelines> {
    let bag = Bag::open(path)?;
    let mut tl = Timelines::default();
    let mut observations = 0usize;
    bag.for_each_message(|file, m| {
        let topic = m.topic;
        let at = || place(file, &m);
        if topic == cfg.state_topic {
            let js: JointState = decode(file, &m, &JointState::ros_type())?;
            match reorder(&js, &cfg.joints, topic) {
                Ok(s) => {
                    let mut v = s.positions;
                    v.extend(s.velocities);
                    tl.state.push(m.log_time_ns, v);
                }
                Err(e @ Reject::NonFinite(_)) => {
                    tracing::warn!("{}: {e}: message dropped", at());
                    info.dropped_messages += 1;
                }
                Err(e) => return Err(Error::invalid(at(), e.to_string())),
            }
        } else if Some(topic) == cfg.observation_topic.as_deref() {
            observations += 1;
            if cfg.observation.has_image() {
                let img: ImageRef = decode(file, &m, ImageRef::ROS_TYPE)?;
                let px = image_input(&img.view(), image_side, (0, 0), topic)
                    .map_err(|e| Error::invalid(at(), e.to_string()))?;
                tl.images.push(m.log_time_ns, px);
            } else {
                let a: Float64MultiArray = decode(file, &m, &Float64MultiArray::ros_type())?;
                if a.data.iter().any(|v| !v.is_finite()) {
                    tracing::warn!("{}: NaN or Inf in the observation: message dropped", at());
                    info.dropped_messages += 1;
                    return Ok(());
                }
                if let Some(first) = tl.vector.v.first() {
                    if first.len() != a.data.len() {
                        return Err(Error::invalid(
                            at(),
                            format!(
                                "observation has {} values, earlier ones {}",
                                a.data.len(),
                                first.len()
                            ),
                        ));
                    }
                }
                tl.vector.push(m.log_time_ns, a.data);
            }
        } else if Some(topic) == cfg.action_topic.as_deref() {
            let v = decode_action(file, &m, &cfg.joints)?;
            if v.iter().all(|x| x.is_finite()) {
                tl.action.push(m.log_time_ns, v);
            } else {
                tracing::warn!("{}: NaN or Inf in the action: message dropped", at());
                info.dropped_messages += 1;
            }
        }
        if Some(topic) == cfg.episodes.marker_topic.as_deref() {
            tl.markers.push(m.log_time_ns);
        }
        Ok(())
    })?;
    let missing = |what: &str, topic: &str| {
        Error::invalid(
            path.display().to_string(),
            format!("no messages on the {what} topic `{topic}` (bag_data.{what}_topic)"),
        )
    };
    if tl.state.is_empty() {
        return Err(missing("state", &cfg.state_topic));
    }
    if let Some(t) = &cfg.observation_topic {
        if cfg.observation.needs_topic() && observations == 0 {
            return Err(missing("observation", t));
        }
    }
    if let Some(t) = &cfg.action_topic {
        if tl.action.is_empty() {
            return Err(missing("action", t));
        }
    }
    tl.state.sort();
    tl.vector.sort();
    tl.images.sort();
    tl.action.sort();
    tl.markers.sort_unstable();
    Ok(tl)
}

/// Commanded positions in `joints` order from a Float64MultiArray or a JointTrajectory.
fn decode_action(file: &Path, m: &MessageRef<'_>, joints: &[String]) -> Result<Vec<f64>> {
    let at = || place(file, m);
    if m.msg_type == Float64MultiArray::ros_type() {
        let a: Float64MultiArray = decode(file, m, m.msg_type)?;
        if a.data.len() != joints.len() {
            return Err(Error::invalid(
                at(),
                format!(
                    "{} values, bag_data.joints names {}",
                    a.data.len(),
                    joints.len()
                ),
            ));
        }
        return Ok(a.data);
    }
    if m.msg_type == JointTrajectory::ros_type() {
        let jt: JointTrajectory = decode(file, m, m.msg_type)?;
        let p = jt
            .points
            .first()
            .ok_or_else(|| Error::invalid(at(), "trajectory without points"))?;
        return joints
            .iter()
            .map(|j| {
                let i = jt.joint_names.iter().position(|n| n == j).ok_or_else(|| {
                    Error::invalid(at(), format!("joint `{j}` not in joint_names"))
                })?;
                p.positions
                    .get(i)
                    .copied()
                    .ok_or_else(|| Error::invalid(at(), format!("no position for joint `{j}`")))
            })
            .collect();
    }
    Err(Error::invalid(
        at(),
        format!(
            "type {} on the action topic: expected {} or {}",
            m.msg_type,
            Float64MultiArray::ros_type(),
            JointTrajectory::ros_type()
        ),
    ))
}
