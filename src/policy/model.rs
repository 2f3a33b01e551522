//! The whole policy: encoder -> head -> (g, w) -> DMP layer -> trajectory (or, for the `cnn`
//! baseline, the trajectory regressed directly).

use candle_core::{DType, Tensor, D};
use candle_nn::{Module, VarBuilder};

use super::cnn::{DigitCnn, FEATURES};
use super::config::{EncoderKind, ModelKind, PolicyConfig};
use super::mlp::Mlp;
use crate::dmp::{DmpConfig, DmpLayer};
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
enum Encoder {
    Cnn(DigitCnn),
    Mlp(Mlp),
    /// Image CNN and state MLP, features concatenated.
    Fused(DigitCnn, Mlp),
}

/// A policy network with parameters under `encoder.*` and `head.*`.
#[derive(Clone, Debug)]
pub struct Policy {
    cfg: PolicyConfig,
    dmp_cfg: DmpConfig,
    encoder: Encoder,
    head: Mlp,
    dmp: DmpLayer,
}

impl Policy {
    pub fn new(cfg: &PolicyConfig, dmp_cfg: &DmpConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let dmp = DmpLayer::new(dmp_cfg)?;
        let (encoder, features) = match cfg.encoder {
            EncoderKind::DigitCnn => (
                Encoder::Cnn(DigitCnn::new(cfg.input_size, cfg.conv, vb.pp("encoder"))?),
                FEATURES,
            ),
            EncoderKind::Mlp => {
                let (mlp, width) = state_mlp(cfg, cfg.input_size, vb.pp("encoder"))?;
                (Encoder::Mlp(mlp), width)
            }
            EncoderKind::CnnState => {
                let cnn = DigitCnn::new(cfg.input_size, cfg.conv, vb.pp("encoder.image"))?;
                let (mlp, width) = state_mlp(cfg, cfg.state_size, vb.pp("encoder.state"))?;
                (Encoder::Fused(cnn, mlp), FEATURES + width)
            }
        };
        let out = match cfg.kind {
            ModelKind::Ndp | ModelKind::CnnDmp => cfg.dof * (1 + dmp_cfg.n_basis),
            ModelKind::Cnn => cfg.dof * dmp.points(),
        };
        let head = Mlp::new(features, &cfg.head_hidden, out, false, vb.pp("head"))?;
        Ok(Policy {
            cfg: cfg.clone(),
            dmp_cfg: dmp_cfg.clone(),
            encoder,
            head,
            dmp,
        })
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    pub fn dmp_config(&self) -> &DmpConfig {
        &self.dmp_cfg
    }

    pub fn dmp_layer(&self) -> &DmpLayer {
        &self.dmp
    }

    /// Points of the predicted trajectory.
    pub fn points(&self) -> usize {
        self.dmp.points()
    }

    /// Raw head output (B, out) for an observation batch: images (B, 1, S, S) or states (B, S).
    pub fn raw(&self, obs: &Tensor) -> Result<Tensor> {
        let feats = match &self.encoder {
            Encoder::Cnn(c) => c.forward(obs)?,
            Encoder::Mlp(m) => m.forward(obs)?,
            Encoder::Fused(..) => {
                return Err(Error::invalid(
                    "model.encoder",
                    "cnn_state reads an image and a state: call raw_fused",
                ))
            }
        };
        Ok(self.head.forward(&feats)?)
    }

    /// Raw head output (B, out) of a `cnn_state` model: images (B, 1, S, S), states (B, state_size).
    pub fn raw_fused(&self, image: &Tensor, state: &Tensor) -> Result<Tensor> {
        let Encoder::Fused(cnn, mlp) = &self.encoder else {
            return Err(Error::invalid(
                "model.encoder",
                "only a cnn_state model reads an image and a state together",
            ));
        };
        let feats = Tensor::cat(&[&cnn.forward(image)?, &mlp.forward(state)?], D::Minus1)?;
        Ok(self.head.forward(&feats)?)
    }

    /// DMP goal (B, D) and weights (B, D, N) from the raw output and the start y0 (B, D).
    pub fn dmp_params(&self, raw: &Tensor, y0: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, d, n) = (raw.dim(0)?, self.cfg.dof, self.dmp_cfg.n_basis);
        let g = (y0 + (raw.narrow(1, 0, d)? * self.cfg.goal_scale)?)?;
        let w = (raw.narrow(1, d, d * n)?.reshape((b, d, n))? * self.cfg.weight_scale)?;
        Ok((g, w))
    }

    /// Integrates the DMP for (g, w) from y0: (B, points, D).
    pub fn rollout(&self, y0: &Tensor, g: &Tensor, w: &Tensor) -> Result<Tensor> {
        let dy0 = Tensor::full(self.cfg.dy0, y0.shape(), y0.device())?.to_dtype(y0.dtype())?;
        self.dmp.forward_time_major(y0, &dy0, g, w)
    }

    /// Raw head output for observations plus, for a `cnn_state` model only, states.
    pub fn raw_of(&self, obs: &Tensor, state: Option<&Tensor>) -> Result<Tensor> {
        match state {
            Some(s) => self.raw_fused(obs, s),
            None => self.raw(obs),
        }
    }

    /// The predicted trajectory (B, points, D) from observations and the start y0 (B, D).
    pub fn trajectory(&self, obs: &Tensor, y0: &Tensor) -> Result<Tensor> {
        self.trajectory_of(obs, None, y0)
    }

    /// As `trajectory`, with the states a `cnn_state` model reads beside its images.
    pub fn trajectory_of(
        &self,
        obs: &Tensor,
        state: Option<&Tensor>,
        y0: &Tensor,
    ) -> Result<Tensor> {
        let raw = self.raw_of(obs, state)?;
        match self.cfg.kind {
            ModelKind::Ndp | ModelKind::CnnDmp => {
                let (g, w) = self.dmp_params(&raw, y0)?;
                self.rollout(y0, &g, &w)
            }
            ModelKind::Cnn => {
                let (b, d) = (raw.dim(0)?, self.cfg.dof);
                let traj = (raw.reshape((b, self.points(), d))? * self.cfg.trajectory_scale)?;
                let origin = match &self.cfg.cnn_origin {
                    None => y0.unsqueeze(1)?,
                    Some(o) => {
                        Tensor::from_slice(o, (1, 1, d), raw.device())?.to_dtype(raw.dtype())?
                    }
                };
                Ok(traj.broadcast_add(&origin)?)
            }
        }
    }

    /// The `cnn-dmp` regression target in raw output units: [(g - y0)/goal_scale, w/weight_scale].
    pub fn raw_target(&self, y0: &Tensor, g: &Tensor, w: &Tensor) -> Result<Tensor> {
        let b = y0.dim(0)?;
        let rg = ((g - y0)? / self.cfg.goal_scale)?;
        let rw = (w.reshape((b, ()))? / self.cfg.weight_scale)?;
        Ok(Tensor::cat(&[&rg, &rw], D::Minus1)?.to_dtype(DType::F32)?)
    }
}

/// The MLP encoder of a state vector of `inputs` values: hidden widths from
/// `model.encoder_hidden`, the last one being the feature width.
fn state_mlp(cfg: &PolicyConfig, inputs: usize, vb: VarBuilder) -> Result<(Mlp, usize)> {
    match cfg.encoder_hidden.split_last() {
        Some((&last, rest)) => Ok((Mlp::new(inputs, rest, last, true, vb)?, last)),
        None => Err(Error::invalid(
            "model.encoder_hidden",
            "the state encoder needs at least one hidden width",
        )),
    }
}
