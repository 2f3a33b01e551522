//! Behaviour-cloning samples from rosbag2 bags: which topics, how episodes are cut, how
//! streams are aligned in time, what the target is, and a train/validation split by episode
//! (never by sample: neighbouring samples of one episode are near copies).
//!
//! Times are the bags' log (receive) times: every message has one, header stamps are optional.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::ros_input::{image_input, reorder};
use crate::bag::{Bag, BagMessage};
use crate::error::{Error, Result};
use crate::msgs::{Float64MultiArray, Image, JointState, JointTrajectory, RosMessage};

/// The `bag_data:` section of a run config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BagDataConfig {
    /// sensor_msgs/JointState: the robot's positions (y0, and the target unless `action_topic`).
    pub state_topic: String,
    /// Joint names in the policy's order; each must be in every joint state.
    pub joints: Vec<String>,
    /// What the network reads.
    #[serde(default)]
    pub observation: Observation,
    /// Float64MultiArray (`observation: topic`) or sensor_msgs/Image (`image`, `image_state`,
    /// `image_positions`).
    #[serde(default)]
    pub observation_topic: Option<String>,
    /// Commanded positions as the demonstrated action: Float64MultiArray (one value per joint,
    /// in `joints` order) or trajectory_msgs/JointTrajectory (first point, by joint name).
    #[serde(default)]
    pub action_topic: Option<String>,
    pub episodes: Episodes,
    #[serde(default)]
    pub align: Align,
    /// Samples per second of demonstration (the controller rate the policy will run at).
    pub rate_hz: f64,
    pub target: Target,
    /// Fraction of episodes held out for validation.
    #[serde(default = "default_val")]
    pub validation_fraction: f64,
    #[serde(default)]
    pub seed: u64,
}

fn default_val() -> f64 {
    0.2
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// Joint positions and velocities (2 x joints values), as the node's `observation: state`.
    #[default]
    State,
    /// Joint positions only.
    Positions,
    /// A Float64MultiArray topic (e.g. a simulator's full observation).
    Topic,
    /// A camera topic, grayscale, resized to the model's input size.
    Image,
    /// The camera image and the joint positions and velocities, for a `cnn_state` model with
    /// `state_size` 2 x joints (the node's `observation: both`).
    ImageState,
    /// The camera image and the joint positions, for a `cnn_state` model with `state_size`
    /// = joints.
    ImagePositions,
}

impl Observation {
    /// The name in a config.
    pub fn name(self) -> &'static str {
        match self {
            Observation::State => "state",
            Observation::Positions => "positions",
            Observation::Topic => "topic",
            Observation::Image => "image",
            Observation::ImageState => "image_state",
            Observation::ImagePositions => "image_positions",
        }
    }

    /// Whether it is read from `observation_topic`.
    pub fn needs_topic(self) -> bool {
        self == Observation::Topic || self.has_image()
    }

    /// Whether the observation topic carries camera images.
    pub fn has_image(self) -> bool {
        matches!(
            self,
            Observation::Image | Observation::ImageState | Observation::ImagePositions
        )
    }
}

/// How streams are read at a sample time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// The message closest in time.
    Nearest,
    /// Linear interpolation between the messages around it (images: nearest).
    #[default]
    Interpolate,
    /// Causal: the newest message received at or before the sample time, which is what the
    /// node would have had then (no sample before the first message). Only the inputs: the
    /// targets (the future the policy plans) are interpolated.
    Latest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Episodes {
    pub split: Split,
    /// `gap`: a silence longer than this (s) on the state topic starts a new episode.
    #[serde(default = "default_gap")]
    pub gap_s: f64,
    /// `marker`: every message on this topic (any type) starts a new episode.
    #[serde(default)]
    pub marker_topic: Option<String>,
}

fn default_gap() -> f64 {
    0.5
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Each bag is one episode.
    Bag,
    /// Gaps in time.
    Gap,
    /// A marker topic.
    Marker,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// From every sample time, the next k positions (k / rate_hz seconds), resampled to the
    /// DMP's points: what the policy plans per call.
    NextK { k: usize },
    /// One sample per episode: its whole trajectory from the start.
    Episode,
}

/// Samples as flat arrays, with the episode of each.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Per-sample observation shape (e.g. [14] or [1, 28, 28]).
    pub obs_shape: Vec<usize>,
    pub obs: Vec<f32>,
    /// Joint state values per sample read beside an image (0: none).
    pub state_len: usize,
    pub state: Vec<f32>,
    pub y0: Vec<f32>,
    /// (points, dof) per sample.
    pub target: Vec<f32>,
    pub episode: Vec<usize>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.episode.len()
    }
    pub fn is_empty(&self) -> bool {
        self.episode.is_empty()
    }
}

/// What was read, for the log and the closing summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DatasetInfo {
    pub bags: usize,
    pub episodes: usize,
    pub train_episodes: usize,
    pub validation_episodes: usize,
    pub train_samples: usize,
    pub validation_samples: usize,
    /// Joint states dropped for NaN/Inf values (each is logged).
    pub dropped_messages: usize,
    /// Episodes too short for one sample.
    pub short_episodes: usize,
}

impl BagDataConfig {
    pub fn validate(&self) -> Result<()> {
        let key = |k: &str| format!("bag_data.{k}");
        if self.joints.is_empty() {
            return Err(Error::invalid(key("joints"), "name at least one joint"));
        }
        if !(self.rate_hz.is_finite() && self.rate_hz > 0.0) {
            return Err(Error::invalid(
                key("rate_hz"),
                format!("must be > 0, got {}", self.rate_hz),
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::invalid(
                key("validation_fraction"),
                "must be in [0, 1)",
            ));
        }
        if self.observation.needs_topic() && self.observation_topic.is_none() {
            return Err(Error::invalid(
                key("observation_topic"),
                format!(
                    "observation `{}` needs the topic to read",
                    self.observation.name()
                ),
            ));
        }
        if self.episodes.split == Split::Marker && self.episodes.marker_topic.is_none() {
            return Err(Error::invalid(
                key("episodes.marker_topic"),
                "split `marker` needs a marker topic",
            ));
        }
        if !(self.episodes.gap_s.is_finite() && self.episodes.gap_s > 0.0) {
            return Err(Error::invalid(key("episodes.gap_s"), "must be > 0"));
        }
        if let Target::NextK { k: 0 } = self.target {
            return Err(Error::invalid(key("target.k"), "must be at least 1"));
        }
        Ok(())
    }

    /// Observation values per sample for a state observation.
    pub fn obs_len(&self) -> Option<usize> {
        match self.observation {
            Observation::State => Some(2 * self.joints.len()),
            Observation::Positions => Some(self.joints.len()),
            _ => None,
        }
    }

    /// Joint state values per sample read beside the image, if any.
    pub fn state_len(&self) -> Option<usize> {
        match self.observation {
            Observation::ImageState => Some(2 * self.joints.len()),
            Observation::ImagePositions => Some(self.joints.len()),
            _ => None,
        }
    }
}

/// A time series of messages (times in ns, increasing).
struct Series<T> {
    t: Vec<u64>,
    v: Vec<T>,
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

    /// The message read at `t`: `Latest`, the newest at or before `t` (None before the
    /// first); otherwise the closest in time (clamped to the series' span). None if empty.
    fn index(&self, t: u64, align: Align) -> Option<usize> {
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
    fn at(&self, t: u64, align: Align) -> Option<Vec<f64>> {
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

fn place(m: &BagMessage) -> String {
    format!(
        "{}: topic {}, message {}",
        m.file.display(),
        m.topic,
        m.index
    )
}

/// Reads every bag into samples for a policy with `points` trajectory points and, for image
/// observations, `image_side` pixels; then splits by episode into (train, validation).
pub fn load(
    cfg: &BagDataConfig,
    bags: &[PathBuf],
    points: usize,
    image_side: usize,
) -> Result<(Samples, Samples, DatasetInfo)> {
    cfg.validate()?;
    if bags.is_empty() {
        return Err(Error::invalid("--data", "name at least one bag"));
    }
    let mut all = Samples::default();
    let mut info = DatasetInfo {
        bags: bags.len(),
        ..Default::default()
    };
    let mut episode_base = 0;
    for path in bags {
        let n = read_bag(
            cfg,
            path,
            points,
            image_side,
            episode_base,
            &mut all,
            &mut info,
        )?;
        episode_base += n;
    }
    info.episodes = episode_base;
    if all.is_empty() {
        return Err(Error::invalid(
            format!("bags {}", bags.iter().map(|b| b.display().to_string()).collect::<Vec<_>>().join(", ")),
            format!(
                "no samples: {} episodes found, {} too short for one sample; check bag_data topics, rate_hz and target",
                info.episodes, info.short_episodes
            ),
        ));
    }
    // Split by episode: a seeded shuffle of the episodes that have samples.
    let mut eps: Vec<usize> = all.episode.clone();
    eps.dedup();
    if eps.len() < 2 && cfg.validation_fraction > 0.0 {
        return Err(Error::invalid(
            "bag_data.validation_fraction",
            format!(
                "{} episode(s) with samples: a split by episode needs at least 2 (or set 0)",
                eps.len()
            ),
        ));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    eps.shuffle(&mut rng);
    let n_val = if cfg.validation_fraction > 0.0 {
        ((eps.len() as f64 * cfg.validation_fraction).round() as usize).clamp(1, eps.len() - 1)
    } else {
        0
    };
    let val_set: std::collections::HashSet<usize> = eps[..n_val].iter().copied().collect();
    let (train, val) = split(&all, |e| !val_set.contains(&e));
    info.train_episodes = eps.len() - n_val;
    info.validation_episodes = n_val;
    info.train_samples = train.len();
    info.validation_samples = val.len();
    Ok((train, val, info))
}

fn split(all: &Samples, keep_train: impl Fn(usize) -> bool) -> (Samples, Samples) {
    let (o, d) = (all.obs.len() / all.len(), all.y0.len() / all.len());
    let (t, k) = (all.target.len() / all.len(), all.state_len);
    let mut a = Samples {
        obs_shape: all.obs_shape.clone(),
        state_len: k,
        ..Default::default()
    };
    let mut b = a.clone();
    for (i, &e) in all.episode.iter().enumerate() {
        let s = if keep_train(e) { &mut a } else { &mut b };
        s.obs.extend_from_slice(&all.obs[i * o..(i + 1) * o]);
        s.state.extend_from_slice(&all.state[i * k..(i + 1) * k]);
        s.y0.extend_from_slice(&all.y0[i * d..(i + 1) * d]);
        s.target.extend_from_slice(&all.target[i * t..(i + 1) * t]);
        s.episode.push(e);
    }
    (a, b)
}

/// Reads one bag; returns how many episodes it had.
fn read_bag(
    cfg: &BagDataConfig,
    path: &Path,
    points: usize,
    image_side: usize,
    episode_base: usize,
    out: &mut Samples,
    info: &mut DatasetInfo,
) -> Result<usize> {
    let bag = Bag::open(path)?;
    let messages = bag.messages()?;
    let mut state = Series::<Vec<f64>>::default();
    let mut obs_series = Series::<Vec<f64>>::default();
    let mut images = Series::<Vec<f32>>::default();
    let mut action = Series::<Vec<f64>>::default();
    let mut markers: Vec<u64> = vec![];
    let mut seen = BTreeMap::<&str, usize>::new();
    for m in &messages {
        let topic = m.topic.as_str();
        if topic == cfg.state_topic {
            *seen.entry("state").or_default() += 1;
            let js: JointState = m.decode()?;
            match reorder(&js, &cfg.joints, topic) {
                Ok(s) => {
                    let mut v = s.positions;
                    v.extend(s.velocities);
                    state.push(m.log_time_ns, v);
                }
                Err(e @ super::ros_input::Reject::NonFinite(_)) => {
                    tracing::warn!("{}: {e}: message dropped", place(m));
                    info.dropped_messages += 1;
                }
                Err(e) => return Err(Error::invalid(place(m), e.to_string())),
            }
        } else if Some(topic) == cfg.observation_topic.as_deref() {
            *seen.entry("observation").or_default() += 1;
            if cfg.observation.has_image() {
                let img: Image = m.decode()?;
                let px = image_input(&img, image_side, (0, 0), topic)
                    .map_err(|e| Error::invalid(place(m), e.to_string()))?;
                images.push(m.log_time_ns, px);
            } else {
                let a: Float64MultiArray = m.decode()?;
                if a.data.iter().any(|v| !v.is_finite()) {
                    tracing::warn!(
                        "{}: NaN or Inf in the observation: message dropped",
                        place(m)
                    );
                    info.dropped_messages += 1;
                    continue;
                }
                if let Some(first) = obs_series.v.first() {
                    if first.len() != a.data.len() {
                        return Err(Error::invalid(
                            place(m),
                            format!(
                                "observation has {} values, earlier ones {}",
                                a.data.len(),
                                first.len()
                            ),
                        ));
                    }
                }
                obs_series.push(m.log_time_ns, a.data);
            }
        } else if Some(topic) == cfg.action_topic.as_deref() {
            *seen.entry("action").or_default() += 1;
            let v = decode_action(m, &cfg.joints)?;
            if v.iter().all(|x| x.is_finite()) {
                action.push(m.log_time_ns, v);
            } else {
                tracing::warn!("{}: NaN or Inf in the action: message dropped", place(m));
                info.dropped_messages += 1;
            }
        }
        if Some(topic) == cfg.episodes.marker_topic.as_deref() {
            markers.push(m.log_time_ns);
        }
    }
    let missing = |what: &str, topic: &str| {
        Error::invalid(
            path.display().to_string(),
            format!("no messages on the {what} topic `{topic}` (bag_data.{what}_topic)"),
        )
    };
    if state.t.is_empty() {
        return Err(missing("state", &cfg.state_topic));
    }
    if let Some(t) = &cfg.observation_topic {
        if cfg.observation.needs_topic() && !seen.contains_key("observation") {
            return Err(missing("observation", t));
        }
    }
    if let Some(t) = &cfg.action_topic {
        if action.t.is_empty() {
            return Err(missing("action", t));
        }
    }
    // Episode boundaries: [start, end] times on the state stream.
    let bounds: Vec<(u64, u64)> = match cfg.episodes.split {
        Split::Bag => vec![(state.t[0], *state.t.last().expect("non-empty"))],
        Split::Gap => {
            let gap = (cfg.episodes.gap_s * 1e9) as u64;
            let mut b = vec![];
            let mut start = state.t[0];
            for w in state.t.windows(2) {
                if w[1] - w[0] > gap {
                    b.push((start, w[0]));
                    start = w[1];
                }
            }
            b.push((start, *state.t.last().expect("non-empty")));
            b
        }
        Split::Marker => {
            let end = *state.t.last().expect("non-empty");
            let mut cuts: Vec<u64> = markers.iter().copied().filter(|&t| t <= end).collect();
            cuts.sort_unstable();
            if cuts.first().is_none_or(|&c| c > state.t[0]) {
                cuts.insert(0, state.t[0]);
            }
            cuts.iter()
                .enumerate()
                .map(|(i, &s)| {
                    let next = cuts.get(i + 1).copied().unwrap_or(u64::MAX);
                    // The episode's last state before the next marker.
                    let last = state
                        .t
                        .iter()
                        .copied()
                        .filter(|&t| t >= s && t < next)
                        .max()
                        .unwrap_or(s);
                    (s, last)
                })
                .collect()
        }
    };
    let dof = cfg.joints.len();
    let step_ns = 1e9 / cfg.rate_hz;
    let target_src = if cfg.action_topic.is_some() {
        &action
    } else {
        &state
    };
    // The targets (the future the policy plans) are never read causally.
    let label_align = match cfg.align {
        Align::Latest => Align::Interpolate,
        a => a,
    };
    for (ei, &(start, end)) in bounds.iter().enumerate() {
        let times: Vec<(u64, u64)> = match cfg.target {
            Target::Episode => {
                if end > start {
                    vec![(start, end - start)]
                } else {
                    vec![]
                }
            }
            Target::NextK { k } => {
                let horizon = (k as f64 * step_ns) as u64;
                let mut v = vec![];
                let mut i = 0u64;
                loop {
                    let t = start + (i as f64 * step_ns) as u64;
                    if t + horizon > end {
                        break;
                    }
                    v.push((t, horizon));
                    i += 1;
                }
                v
            }
        };
        if times.is_empty() {
            info.short_episodes += 1;
            continue;
        }
        for (t, horizon) in times {
            let Some(s) = state.at(t, cfg.align) else {
                continue;
            };
            let obs: Vec<f32> = match cfg.observation {
                Observation::State => s.iter().map(|&v| v as f32).collect(),
                Observation::Positions => s[..dof].iter().map(|&v| v as f32).collect(),
                Observation::Topic => match obs_series.at(t, cfg.align) {
                    Some(o) => o.iter().map(|&v| v as f32).collect(),
                    None => continue,
                },
                Observation::Image | Observation::ImageState | Observation::ImagePositions => {
                    // Images are never interpolated: the closest under `interpolate`.
                    match images.index(t, cfg.align) {
                        Some(i) => images.v[i].clone(),
                        None => continue,
                    }
                }
            };
            if out.obs_shape.is_empty() {
                out.obs_shape = if cfg.observation.has_image() {
                    vec![1, image_side, image_side]
                } else {
                    vec![obs.len()]
                };
            }
            out.obs.extend(obs);
            if let Some(k) = cfg.state_len() {
                out.state_len = k;
                out.state.extend(s[..k].iter().map(|&v| v as f32));
            }
            out.y0.extend(s[..dof].iter().map(|&v| v as f32));
            for p in 0..points {
                let tp = t + (horizon as f64 * p as f64 / (points - 1).max(1) as f64) as u64;
                let v = target_src
                    .at(tp, label_align)
                    .expect("non-empty target stream");
                out.target.extend(v[..dof].iter().map(|&x| x as f32));
            }
            out.episode.push(episode_base + ei);
        }
    }
    Ok(bounds.len())
}

/// Commanded positions in `joints` order from a Float64MultiArray or a JointTrajectory.
fn decode_action(m: &BagMessage, joints: &[String]) -> Result<Vec<f64>> {
    if m.msg_type == Float64MultiArray::ros_type() {
        let a: Float64MultiArray = m.decode()?;
        if a.data.len() != joints.len() {
            return Err(Error::invalid(
                place(m),
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
        let jt: JointTrajectory = m.decode()?;
        let p = jt
            .points
            .first()
            .ok_or_else(|| Error::invalid(place(m), "trajectory without points"))?;
        return joints
            .iter()
            .map(|j| {
                let i = jt.joint_names.iter().position(|n| n == j).ok_or_else(|| {
                    Error::invalid(place(m), format!("joint `{j}` not in joint_names"))
                })?;
                p.positions
                    .get(i)
                    .copied()
                    .ok_or_else(|| Error::invalid(place(m), format!("no position for joint `{j}`")))
            })
            .collect();
    }
    Err(Error::invalid(
        place(m),
        format!(
            "type {} on the action topic: expected {} or {}",
            m.msg_type,
            Float64MultiArray::ros_type(),
            JointTrajectory::ros_type()
        ),
    ))
}
