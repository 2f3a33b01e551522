//! The candle policy as the controller's planner: observation -> (g, w).

use candle_core::{Device, Tensor};

use super::params::{NodeParams, ObservationMode};
use super::plan_maker::{PlanInput, Planner};
use crate::error::{Error, Result};
use crate::policy::deployment::{normalize, Deployment, Normalization};
use crate::policy::{EncoderKind, ModelKind, Policy};

pub struct PolicyPlanner {
    policy: Policy,
    mode: ObservationMode,
    with_velocities: bool,
    vector_size: usize,
    normalization: Option<Normalization>,
    device: Device,
}

/// Checks a model's deployment contract against the node's parameters; errors name both
/// sides (the parameter and deploy.yaml's key).
pub fn check_deployment(d: &Deployment, params: &NodeParams) -> Result<()> {
    use crate::policy::deployment::{Action, ObservationKind as K};
    let ckpt = params.checkpoint.display();
    let fits = matches!(
        (params.observation, d.observation),
        (ObservationMode::State, K::State | K::Positions)
            | (ObservationMode::Image, K::Image)
            | (ObservationMode::Both, K::ImageState | K::ImagePositions)
            | (ObservationMode::Vector, K::Vector)
    );
    if !fits {
        let hint = match d.observation {
            K::State | K::Positions => "state",
            K::Image => "image",
            K::ImageState | K::ImagePositions => "both",
            K::Vector => "vector (and observation_topic: the Float64MultiArray it was trained on)",
        };
        return Err(Error::invalid(
            "parameter observation",
            format!(
                "{:?}, but {ckpt}/deploy.yaml says the model reads observation: {:?}; set observation: {hint}",
                params.observation, d.observation
            ),
        ));
    }
    if d.action != Action::Positions {
        return Err(Error::invalid(
            "parameter checkpoint",
            format!(
                "{ckpt}/deploy.yaml action: {:?}: the node commands joint positions",
                d.action
            ),
        ));
    }
    if !d.joint_names.is_empty() && d.joint_names != params.joint_names {
        return Err(Error::invalid(
            "parameter joint_names",
            format!(
                "{:?}, but the model in {ckpt} was trained on {:?} (deploy.yaml joint_names; same names, same order)",
                params.joint_names, d.joint_names
            ),
        ));
    }
    Ok(())
}

impl PolicyPlanner {
    /// Checks that the checkpoint's model fits the parameters; errors name both sides.
    pub fn new(policy: Policy, params: &NodeParams) -> Result<Self> {
        let cfg = policy.config();
        let d = params.joint_names.len();
        let ckpt = params.checkpoint.display();
        if cfg.kind == ModelKind::Cnn {
            return Err(Error::invalid(
                "parameter checkpoint",
                format!("{ckpt}: model `cnn` regresses trajectories directly; the node needs a DMP policy (ndp or cnn-dmp)"),
            ));
        }
        if cfg.dof != d {
            return Err(Error::invalid(
                "parameter joint_names",
                format!(
                    "{d} joints, but the model in {ckpt} has model.dof = {}",
                    cfg.dof
                ),
            ));
        }
        // How many state values the model reads: d (positions) or 2d (and velocities).
        let state_inputs = |n: usize| -> Result<bool> {
            match n {
                _ if n == d => Ok(false),
                _ if n == 2 * d => Ok(true),
                _ => Err(Error::invalid(
                    "parameter joint_names",
                    format!("the model in {ckpt} reads {n} state values; {d} joints give {d} (positions) or {} (positions and velocities)", 2 * d),
                )),
            }
        };
        let with_velocities = match (params.observation, cfg.encoder) {
            (ObservationMode::Image, EncoderKind::DigitCnn) => false,
            (ObservationMode::State, EncoderKind::Mlp) => state_inputs(cfg.input_size)?,
            (ObservationMode::Both, EncoderKind::CnnState) => state_inputs(cfg.state_size)?,
            (ObservationMode::Vector, EncoderKind::Mlp) => false,
            (mode, enc) => {
                return Err(Error::invalid(
                    "parameter observation",
                    format!("{mode:?} observations, but the model in {ckpt} has a {enc:?} encoder"),
                ))
            }
        };
        Ok(PolicyPlanner {
            vector_size: cfg.input_size,
            policy,
            mode: params.observation,
            with_velocities,
            normalization: None,
            device: Device::Cpu,
        })
    }

    /// Observation-vector normalisation as in training (deploy.yaml `normalization`); its
    /// length must be the model's input size.
    pub fn set_normalization(&mut self, n: Option<Normalization>) -> Result<()> {
        if let Some(n) = &n {
            if n.mean.len() != self.vector_size || n.var.len() != self.vector_size {
                return Err(Error::invalid(
                    "deploy.yaml normalization",
                    format!(
                        "{} means and {} variances for a model that reads {} values",
                        n.mean.len(),
                        n.var.len(),
                        self.vector_size
                    ),
                ));
            }
        }
        self.normalization = n;
        Ok(())
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl Planner for PolicyPlanner {
    fn plan(&mut self, input: &PlanInput) -> Result<(Vec<f64>, Vec<f64>)> {
        let s = input.state;
        let d = s.positions.len();
        let pos: Vec<f32> = s.positions.iter().map(|&v| v as f32).collect();
        let y0 = Tensor::from_slice(&pos, (1, d), &self.device)?;
        let image = || -> Result<Tensor> {
            let px = input
                .image
                .ok_or_else(|| Error::invalid("observation", "no image yet"))?;
            let side = (px.len() as f64).sqrt() as usize;
            Ok(Tensor::from_slice(px, (1, 1, side, side), &self.device)?)
        };
        let state = || -> Result<Tensor> {
            let mut v = pos.clone();
            if self.with_velocities {
                v.extend(s.velocities.iter().map(|&x| x as f32));
            }
            let n = v.len();
            Ok(Tensor::from_vec(v, (1, n), &self.device)?)
        };
        let vector = || -> Result<Tensor> {
            let v = input
                .vector
                .ok_or_else(|| Error::invalid("observation", "no observation vector yet"))?;
            if v.len() != self.vector_size {
                return Err(Error::invalid(
                    "observation",
                    format!("{} values, the model reads {}", v.len(), self.vector_size),
                ));
            }
            let x: Vec<f32> = match &self.normalization {
                None => v.iter().map(|&x| x as f32).collect(),
                Some(n) => v
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| normalize(x, n.mean[i], n.var[i], n.clip))
                    .collect(),
            };
            Ok(Tensor::from_vec(x, (1, v.len()), &self.device)?)
        };
        let raw = match self.mode {
            ObservationMode::Vector => self.policy.raw(&vector()?)?,
            ObservationMode::Image => self.policy.raw(&image()?)?,
            ObservationMode::State => self.policy.raw(&state()?)?,
            ObservationMode::Both => self.policy.raw_fused(&image()?, &state()?)?,
        };
        let (g, w) = self.policy.dmp_params(&raw, &y0)?;
        let to64 = |t: Tensor| -> Result<Vec<f64>> {
            Ok(t.flatten_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_vec1()?)
        };
        Ok((to64(g)?, to64(w)?))
    }
}
