//! A run config: the YAML file that makes a model and is saved beside its checkpoint.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::bag_dataset::BagDataConfig;
use crate::dmp::DmpConfig;
use crate::error::{Error, Result};
use crate::policy::{EncoderKind, PolicyConfig};

/// `model:`, `dmp:`, `train:` and optional `data:` sections; unknown keys are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub model: PolicyConfig,
    pub dmp: DmpConfig,
    pub train: TrainConfig,
    #[serde(default)]
    pub data: Option<DataConfig>,
    /// Training from rosbag2 bags: topics, episodes, alignment, target.
    #[serde(default)]
    pub bag_data: Option<BagDataConfig>,
}

/// Optimiser and schedule of behaviour cloning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub batch_size: usize,
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    pub seed: u64,
    /// Use only the first N training samples (quick runs); absent means all.
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Use only the first N held-out samples; absent means all.
    #[serde(default)]
    pub max_test: Option<usize>,
}

/// Where the training data is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dir: PathBuf,
}

impl RunConfig {
    /// The deployment contract of a model trained from this config (src/policy/deployment.rs).
    pub fn deployment(&self) -> crate::policy::deployment::Deployment {
        use crate::policy::deployment::{Action, Deployment, Dy0, ObservationKind as K, FORMAT};
        let m = &self.model;
        let observation = match (&self.bag_data, m.encoder) {
            (Some(b), _) => b.observation, // one vocabulary: the bundle's
            (None, EncoderKind::DigitCnn) => K::Image,
            (None, EncoderKind::CnnState) if m.state_size == m.dof => K::ImagePositions,
            (None, EncoderKind::CnnState) => K::ImageState,
            (None, EncoderKind::Mlp) if m.input_size == m.dof => K::Positions,
            (None, EncoderKind::Mlp) if m.input_size == 2 * m.dof => K::State,
            (None, EncoderKind::Mlp) => K::Vector,
        };
        let trainer = match (&self.bag_data, &self.data) {
            (Some(_), _) => "bc-bag",
            (None, Some(_)) => "bc-digits",
            _ => "init",
        };
        Deployment {
            format: FORMAT,
            trainer: trainer.into(),
            plan_duration_s: self.plan_duration_s(),
            // Behaviour cloning rolls every target out from the config's constant dy0.
            dy0: Dy0::Constant(m.dy0),
            action: Action::Positions,
            observation,
            joint_names: self
                .bag_data
                .as_ref()
                .map(|b| b.joints.clone())
                .unwrap_or_default(),
            image_side: (m.encoder != EncoderKind::Mlp).then_some(m.input_size),
            vector_size: (observation == K::Vector).then_some(m.input_size),
            normalization: None,
            position_scale: 1.0,
            position_index: vec![],
            prev_index: vec![],
        }
    }

    /// Seconds one plan of this model spans, when training fixed it: a model cloned from bags
    /// with `target: next_k` learned k samples at `bag_data.rate_hz`. The node samples its
    /// plans in time, so it plays the motion at the trained speed whatever its own rate.
    pub fn plan_duration_s(&self) -> Option<f64> {
        match &self.bag_data {
            Some(b) => match b.target {
                crate::data::bag_dataset::Target::NextK { k } => Some(k as f64 / b.rate_hz),
                _ => None,
            },
            None => None,
        }
    }

    /// Reads and validates a run config; errors name the file and the key.
    pub fn load(path: &Path) -> Result<Self> {
        crate::yaml::load_checked(path, Self::validate)
    }

    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        self.dmp.validate("dmp")?;
        if let Some(b) = &self.bag_data {
            b.validate()?;
            if self.model.dof != b.joints.len() {
                return Err(Error::invalid(
                    "model.dof",
                    format!(
                        "must equal the number of bag_data.joints ({})",
                        b.joints.len()
                    ),
                ));
            }
            let (fused, obs) = (
                self.model.encoder == EncoderKind::CnnState,
                b.observation.name(),
            );
            match b.state_len() {
                Some(_) if !fused => {
                    return Err(Error::invalid(
                        "model.encoder",
                        format!("bag_data.observation {obs} reads an image and joint states: it needs encoder cnn_state, not {:?}", self.model.encoder),
                    ))
                }
                Some(k) if k != self.model.state_size => {
                    return Err(Error::invalid(
                        "model.state_size",
                        format!("bag_data.observation {obs} gives {k} state values per sample"),
                    ))
                }
                None if fused => {
                    return Err(Error::invalid(
                        "bag_data.observation",
                        format!("a cnn_state model reads an image and joint states: use image_state or image_positions, not {obs}"),
                    ))
                }
                _ => {}
            }
            if let Some(n) = b.obs_len() {
                if self.model.input_size != n {
                    return Err(Error::invalid(
                        "model.input_size",
                        format!(
                            "bag_data.observation {:?} gives {n} values per sample",
                            b.observation
                        ),
                    ));
                }
            }
        }
        let t = &self.train;
        if t.batch_size == 0 {
            return Err(Error::invalid("train.batch_size", "must be at least 1"));
        }
        if t.epochs == 0 {
            return Err(Error::invalid("train.epochs", "must be at least 1"));
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return Err(Error::invalid(
                "train.lr",
                format!("must be finite and > 0, got {}", t.lr),
            ));
        }
        Ok(())
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a run config always serialises")
    }
}
