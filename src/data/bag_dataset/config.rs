//! The `bag_data:` section of a run config: which topics, how episodes are cut, how streams
//! are aligned, what the target is. The observation is named in the policy bundle's own
//! vocabulary (`policy::deployment::ObservationKind`), so the bag, the bundle and the node
//! agree on what "image_positions" means.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::policy::deployment::ObservationKind as Observation;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BagDataConfig {
    /// sensor_msgs/JointState: the robot's positions (y0, and the target unless `action_topic`).
    pub state_topic: String,
    /// Joint names in the policy's order; each must be in every joint state.
    pub joints: Vec<String>,
    /// What the network reads.
    #[serde(default = "default_observation")]
    pub observation: Observation,
    /// Float64MultiArray (`observation: vector`) or sensor_msgs/Image (`image`, `image_state`,
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

fn default_observation() -> Observation {
    Observation::State
}

fn default_val() -> f64 {
    0.2
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
