//! Behaviour-cloning data as tensors: observations, start points and target trajectories.

use candle_core::{Device, Tensor};

use crate::data::bag_dataset::Samples;
use crate::data::digits::{IMAGE_SIZE, POINTS};
use crate::data::image::prepare_u8;
use crate::data::DigitSet;
use crate::error::{Error, Result};
use crate::policy::{EncoderKind, Policy};

/// N samples: `obs` (N, ...) f32, `y0` (N, D), `target` (N, points, D), and for a `cnn_state`
/// model the joint states read beside the images, `state` (N, state_size).
#[derive(Clone, Debug)]
pub struct BcData {
    pub obs: Tensor,
    pub state: Option<Tensor>,
    pub y0: Tensor,
    pub target: Tensor,
}

impl BcData {
    /// Digit images resized to `image_size` and scaled to [0, 1]; y0 = the first pen point.
    pub fn from_digits(set: &DigitSet, image_size: usize, device: &Device) -> Result<Self> {
        let n = set.len();
        let side = image_size * image_size;
        let mut pixels = vec![0f32; n * side];
        for (i, px) in pixels.chunks_exact_mut(side).enumerate() {
            prepare_u8(
                set.image(i),
                IMAGE_SIZE,
                IMAGE_SIZE,
                image_size,
                image_size,
                px,
            );
        }
        let obs = Tensor::from_vec(pixels, (n, 1, image_size, image_size), device)?;
        let target = Tensor::from_slice(&set.trajectories, (n, POINTS, 2), device)?;
        let y0 = target.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
        Ok(BcData {
            obs,
            state: None,
            y0,
            target,
        })
    }

    /// Samples read from bags (`data::bag_dataset`), as tensors.
    pub fn from_samples(s: &Samples, dof: usize, device: &Device) -> Result<Self> {
        let n = s.len();
        let mut shape = vec![n];
        shape.extend_from_slice(&s.obs_shape);
        let points = if n == 0 {
            0
        } else {
            s.target.len() / (n * dof)
        };
        let state = match s.state_len {
            0 => None,
            k => Some(Tensor::from_slice(&s.state, (n, k), device)?),
        };
        Ok(BcData {
            obs: Tensor::from_slice(&s.obs, shape, device)?,
            state,
            y0: Tensor::from_slice(&s.y0, (n, dof), device)?,
            target: Tensor::from_slice(&s.target, (n, points, dof), device)?,
        })
    }

    pub fn len(&self) -> usize {
        self.y0.dims()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows `idx` (a u32 tensor).
    pub fn select(&self, idx: &Tensor) -> Result<BcData> {
        Ok(BcData {
            obs: self.obs.index_select(idx, 0)?,
            state: self
                .state
                .as_ref()
                .map(|s| s.index_select(idx, 0))
                .transpose()?,
            y0: self.y0.index_select(idx, 0)?,
            target: self.target.index_select(idx, 0)?,
        })
    }

    /// The contiguous rows start..start+len.
    pub fn slice(&self, start: usize, len: usize) -> Result<BcData> {
        Ok(BcData {
            obs: self.obs.narrow(0, start, len)?,
            state: self
                .state
                .as_ref()
                .map(|s| s.narrow(0, start, len))
                .transpose()?,
            y0: self.y0.narrow(0, start, len)?,
            target: self.target.narrow(0, start, len)?,
        })
    }

    /// The policy's predicted trajectories for these samples.
    pub fn predict(&self, policy: &Policy) -> Result<Tensor> {
        policy.trajectory_of(&self.obs, self.state.as_ref(), &self.y0)
    }

    /// Checks that this data fits `policy`; the error names `what` (e.g. the data file).
    pub fn check_fits(&self, policy: &Policy, what: &str) -> Result<()> {
        let cfg = policy.config();
        let shape_err = |field: &str, expected: String, got: String| Error::Shape {
            what: format!("{what}: {field}"),
            expected,
            got,
        };
        if self.is_empty() {
            return Err(Error::invalid(
                what,
                "no samples: refusing to train on an empty dataset",
            ));
        }
        let t = self.target.dims();
        if t[1] != policy.points() || t[2] != cfg.dof {
            return Err(shape_err(
                "target trajectory (points, dof)",
                format!(
                    "({}, {}) from dmp.t * dmp.substeps + 1 and model.dof",
                    policy.points(),
                    cfg.dof
                ),
                format!("({}, {})", t[1], t[2]),
            ));
        }
        let o = self.obs.dims();
        let want: Vec<usize> = match (cfg.encoder, &self.state) {
            (EncoderKind::DigitCnn, None) => vec![1, cfg.input_size, cfg.input_size],
            (EncoderKind::Mlp, None) => vec![cfg.input_size],
            (EncoderKind::CnnState, Some(st)) => {
                if st.dims()[1] != cfg.state_size {
                    return Err(shape_err(
                        "state values",
                        format!("{} from model.state_size", cfg.state_size),
                        format!("{} (bag_data.observation image_state: 2 per joint; image_positions: 1)", st.dims()[1]),
                    ));
                }
                vec![1, cfg.input_size, cfg.input_size]
            }
            (EncoderKind::CnnState, None) => {
                return Err(Error::invalid(
                    "model.encoder",
                    format!("{what}: cnn_state needs images and states together; this dataset has one observation per sample (digits: images only; bags: set bag_data.observation to image_state or image_positions)"),
                ))
            }
            (enc, Some(_)) => {
                return Err(Error::invalid(
                    "model.encoder",
                    format!("{what}: images with joint states (bag_data.observation image_state or image_positions) need a cnn_state model, not {enc:?}"),
                ))
            }
        };
        if o[1..] != want[..] {
            return Err(shape_err(
                "observation",
                format!("{want:?} from model.input_size"),
                format!("{:?}", &o[1..]),
            ));
        }
        Ok(())
    }
}
