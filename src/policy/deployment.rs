//! The deployment contract a trained model carries (`deploy.yaml` beside its weights): what
//! the node must match to run it as it was trained. Written by every trainer, read by the node,
//! which adapts where it can (its own rate: plans are sampled in time) and refuses the rest
//! with an error naming both sides.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FILE: &str = "deploy.yaml";
pub const FORMAT: u32 = 1;

/// What the network reads, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// Joint positions then velocities, in `joint_names` order.
    State,
    /// Joint positions, in `joint_names` order.
    Positions,
    /// A grayscale camera image (luminance 0.299 R + 0.587 G + 0.114 B, bilinear resize to
    /// `image_side`, values in [0, 1]).
    Image,
    /// The image, and positions then velocities.
    ImageState,
    /// The image, and positions.
    ImagePositions,
    /// A vector of `vector_size` values from a Float64MultiArray topic (a simulator's
    /// observation), normalised by `normalization` when present. (`topic` in older bag
    /// configs.)
    #[serde(alias = "topic")]
    Vector,
}

impl ObservationKind {
    /// The name in configs and deploy.yaml.
    pub fn name(self) -> &'static str {
        match self {
            ObservationKind::State => "state",
            ObservationKind::Positions => "positions",
            ObservationKind::Image => "image",
            ObservationKind::ImageState => "image_state",
            ObservationKind::ImagePositions => "image_positions",
            ObservationKind::Vector => "vector",
        }
    }

    /// Whether it reads a topic besides the joint states.
    pub fn needs_topic(self) -> bool {
        self == ObservationKind::Vector || self.has_image()
    }

    /// Whether it reads camera images.
    pub fn has_image(self) -> bool {
        matches!(
            self,
            ObservationKind::Image | ObservationKind::ImageState | ObservationKind::ImagePositions
        )
    }
}

/// How the DMP's initial velocity dy0 is set at each plan.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dy0 {
    /// The measured joint velocity (units per second, scaled to DMP time).
    Measured,
    /// A constant, in DMP units (behaviour cloning trains with the config's `model.dy0`).
    Constant(f64),
}

/// What the plan's positions mean for the robot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Joint positions (what the node commands).
    Positions,
    /// Per-step position changes of a simulator's action space (PPO on Meta-World-like tasks).
    Deltas,
}

/// One observation value normalised as PPO trains and the node serves: (x - mean) /
/// sqrt(var + 1e-8), clipped to +-clip.
pub fn normalize(x: f64, mean: f64, var: f64, clip: f64) -> f32 {
    ((x - mean) / (var + 1e-8).sqrt()).clamp(-clip, clip) as f32
}

/// Observation normalisation: (x - mean) / sqrt(var + 1e-8), clipped to +-clip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub clip: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub format: u32,
    /// Who wrote it (bc-digits, bc-bag, ppo, init).
    pub trainer: String,
    /// Seconds one plan spans (the DMP's T steps at the training rate); None: unknown.
    pub plan_duration_s: Option<f64>,
    pub dy0: Dy0,
    pub action: Action,
    pub observation: ObservationKind,
    /// Joint order of the state values and of the DMP's DoF; empty: not fixed by training.
    #[serde(default)]
    pub joint_names: Vec<String>,
    #[serde(default)]
    pub image_side: Option<usize>,
    #[serde(default)]
    pub vector_size: Option<usize>,
    #[serde(default)]
    pub normalization: Option<Normalization>,
    /// DMP units per position unit: the plan runs on positions times this (PPO's y0_scale,
    /// e.g. 100: one DMP unit is one 1 cm action); commands are divided back.
    #[serde(default = "one")]
    pub position_scale: f64,
    /// For simulator adapters: per DoF, the observation index of its position (None: not
    /// observed, started from 0 at each plan) and of its previous position (velocity by
    /// difference). Empty when the positions come from joint states.
    #[serde(default)]
    pub position_index: Vec<Option<usize>>,
    #[serde(default)]
    pub prev_index: Vec<Option<usize>>,
}

fn one() -> f64 {
    1.0
}

impl Deployment {
    pub fn save(&self, run: &Path) -> Result<()> {
        let text = serde_yaml::to_string(self).expect("deployment serialises");
        let header = "# The deployment contract of this model (src/policy/deployment.rs): what ndp_policy must\n# match to run it as trained.\n";
        crate::fsutil::write_atomic(&run.join(FILE), format!("{header}{text}").as_bytes())
    }

    /// Reads `run/deploy.yaml`; Ok(None) if the run has none (made before the contract).
    pub fn load(run: &Path) -> Result<Option<Self>> {
        let path = run.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let d: Deployment = crate::yaml::load_checked(&path, |d: &Deployment| d.validate())?;
        Ok(Some(d))
    }

    pub fn validate(&self) -> Result<()> {
        if self.format != FORMAT {
            return Err(Error::invalid(
                "format",
                format!("{} (this build reads format {FORMAT})", self.format),
            ));
        }
        if let Some(d) = self.plan_duration_s {
            if !(d.is_finite() && d > 0.0 && d <= 3600.0) {
                return Err(Error::invalid(
                    "plan_duration_s",
                    format!("{d} is outside (0, 3600]"),
                ));
            }
        }
        if !(self.position_scale.is_finite() && self.position_scale > 0.0) {
            return Err(Error::invalid(
                "position_scale",
                format!("must be finite and > 0, got {}", self.position_scale),
            ));
        }
        if let Dy0::Constant(c) = self.dy0 {
            if !c.is_finite() {
                return Err(Error::invalid("dy0", "must be finite"));
            }
        }
        if !(1e-6..=1e6).contains(&self.position_scale) {
            return Err(Error::invalid(
                "position_scale",
                format!("{} is outside [1e-6, 1e6]", self.position_scale),
            ));
        }
        if let Some(n) = &self.normalization {
            if !(n.clip.is_finite() && n.clip > 0.0) {
                return Err(Error::invalid(
                    "normalization.clip",
                    format!("must be finite and > 0, got {}", n.clip),
                ));
            }
            let size = self.vector_size.unwrap_or(0);
            if n.mean.len() != size || n.var.len() != size {
                return Err(Error::invalid(
                    "normalization",
                    format!(
                        "{} means and {} variances for vector_size {size}",
                        n.mean.len(),
                        n.var.len()
                    ),
                ));
            }
            if n.mean.iter().chain(&n.var).any(|v| !v.is_finite()) || n.var.iter().any(|v| *v < 0.0)
            {
                return Err(Error::invalid(
                    "normalization",
                    "means and variances must be finite, variances >= 0",
                ));
            }
        }
        Ok(())
    }
}
