//! The `model:` section of a run config.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which model maps the observation to a trajectory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Neural Dynamic Policy: network -> (g, w) -> integrated DMP; loss on the trajectory.
    Ndp,
    /// Baseline: the network regresses the whole trajectory directly.
    Cnn,
    /// Baseline (Pahic et al.): the network regresses DMP parameters; loss on the parameters
    /// against DMPs fitted to the demonstrations; integrated only for evaluation.
    CnnDmp,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Ndp => "ndp",
            ModelKind::Cnn => "cnn",
            ModelKind::CnnDmp => "cnn-dmp",
        })
    }
}

/// What reads the observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderKind {
    /// conv 5x5 (20) -> max-pool -> conv 5x5 (50) -> max-pool -> fc 200, on a square image.
    DigitCnn,
    /// An MLP on a state vector.
    Mlp,
    /// Both, fused: the digit CNN's 200 image features beside an MLP's features of the state
    /// (`state_size` values), concatenated before the head. For the node's `observation: both`.
    CnnState,
}

/// How the image encoder convolves. Both give the same function and parameters (checkpoints
/// are interchangeable); `candle` is kept as the reference the fast path is measured against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvImpl {
    /// src/ops: im2col + one GEMM, fused ReLU + max-pool, no input gradient for the image.
    #[default]
    Im2col,
    /// candle's conv2d, relu and max_pool2d (whose backward scales gradients by 1/4).
    Candle,
}

/// The network's shape and output scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub kind: ModelKind,
    pub encoder: EncoderKind,
    /// Image side for `digit_cnn` (images are resized to it), state dimension for `mlp`.
    pub input_size: usize,
    /// State values read by `cnn_state` (joint positions, or positions and velocities).
    #[serde(default)]
    pub state_size: usize,
    /// Convolution implementation of `digit_cnn`: im2col (default) or candle.
    #[serde(default)]
    pub conv: ConvImpl,
    /// Hidden widths of the MLP encoder (ignored by `digit_cnn`).
    #[serde(default)]
    pub encoder_hidden: Vec<usize>,
    /// Hidden widths of the head that maps features to the outputs.
    pub head_hidden: Vec<usize>,
    /// Degrees of freedom of the trajectory.
    pub dof: usize,
    /// Goal g = y0 + goal_scale * output: the goal is predicted relative to the start, which
    /// makes the policy translation-equivariant (the reference predicts g absolutely).
    pub goal_scale: f64,
    /// w = weight_scale * output (the reference uses one fixed scale, 1000 for imitation).
    pub weight_scale: f64,
    /// Trajectory = y0 + trajectory_scale * output, for the `cnn` baseline.
    #[serde(default = "default_traj_scale")]
    pub trajectory_scale: f64,
    /// The `cnn` baseline's origin: absent, the start y0 (given the start, as NDP is); a point
    /// (one value per DoF), trajectory = origin + trajectory_scale * output, so the start is
    /// not an input: the plain regressor of the paper's comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnn_origin: Option<Vec<f64>>,
    /// Initial DMP velocity (the reference uses 0.01 for imitation).
    #[serde(default = "default_dy0")]
    pub dy0: f64,
}

/// Bounds on model sizes (a network the node can run in a control loop is far smaller).
pub const MAX_DOF: usize = 64;
pub const MAX_IMAGE_SIDE: usize = 1024;
pub const MAX_WIDTH: usize = 8192;
pub const MAX_LAYERS: usize = 16;

fn default_traj_scale() -> f64 {
    10.0
}
fn default_dy0() -> f64 {
    0.01
}

impl PolicyConfig {
    pub fn validate(&self) -> Result<()> {
        if let Some(o) = &self.cnn_origin {
            if o.len() != self.dof || o.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(
                    "model.cnn_origin",
                    format!("needs {} finite values (one per DoF), got {o:?}", self.dof),
                ));
            }
        }
        let pos = |k: &str, v: usize| {
            if v == 0 {
                Err(Error::invalid(format!("model.{k}"), "must be at least 1"))
            } else {
                Ok(())
            }
        };
        pos("dof", self.dof)?;
        pos("input_size", self.input_size)?;
        // Upper bounds, checked before any tensor is allocated from these sizes.
        let image = self.encoder != EncoderKind::Mlp;
        let max_input = if image { MAX_IMAGE_SIDE } else { MAX_WIDTH };
        for (k, v, hi) in [
            ("dof", self.dof, MAX_DOF),
            ("input_size", self.input_size, max_input),
            ("state_size", self.state_size, MAX_WIDTH),
        ] {
            if v > hi {
                return Err(Error::invalid(
                    format!("model.{k}"),
                    format!("{v} is above the bound {hi}"),
                ));
            }
        }
        for (k, widths) in [
            ("encoder_hidden", &self.encoder_hidden),
            ("head_hidden", &self.head_hidden),
        ] {
            if widths.len() > MAX_LAYERS {
                return Err(Error::invalid(
                    format!("model.{k}"),
                    format!("{} layers, above the bound {MAX_LAYERS}", widths.len()),
                ));
            }
            if let Some(i) = widths.iter().position(|&h| h > MAX_WIDTH) {
                return Err(Error::invalid(
                    format!("model.{k}[{i}]"),
                    format!("{} is above the bound {MAX_WIDTH}", widths[i]),
                ));
            }
        }
        if self.encoder == EncoderKind::CnnState {
            pos("state_size", self.state_size)?;
            if self.encoder_hidden.is_empty() {
                return Err(Error::invalid(
                    "model.encoder_hidden",
                    "cnn_state needs at least one hidden width for its state MLP",
                ));
            }
        }
        if self.encoder != EncoderKind::Mlp && self.input_size < 16 {
            return Err(Error::invalid(
                "model.input_size",
                format!(
                    "digit_cnn needs images of at least 16 px, got {}",
                    self.input_size
                ),
            ));
        }
        for (k, v) in [
            ("goal_scale", self.goal_scale),
            ("weight_scale", self.weight_scale),
            ("trajectory_scale", self.trajectory_scale),
            ("dy0", self.dy0),
        ] {
            if !v.is_finite() {
                return Err(Error::invalid(format!("model.{k}"), "must be finite"));
            }
        }
        if let Some(i) = self.head_hidden.iter().position(|&h| h == 0) {
            return Err(Error::invalid(
                format!("model.head_hidden[{i}]"),
                "must be at least 1",
            ));
        }
        if let Some(i) = self.encoder_hidden.iter().position(|&h| h == 0) {
            return Err(Error::invalid(
                format!("model.encoder_hidden[{i}]"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
