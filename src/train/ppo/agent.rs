//! The actor (NDP, PPO or PPO-multi) and the multi-action critic: k value heads, one per
//! sub-step of a policy call. Actions are Gaussian around the actor's means with a learned,
//! state-independent log standard deviation; each of the k sub-actions has its own
//! log-probability.

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Init, Module, VarMap};

use super::config::{ActionMode, ActorConfig, ActorKind};
use crate::dmp::unrolled::rollout_unrolled_az;
use crate::dmp::DmpLayer;
use crate::env::EnvSpec;
use crate::error::{Error, Result};
use crate::policy::mlp::Mlp;
use crate::policy::seeded::seeded_var_builder;
use crate::policy::{EncoderKind, ModelKind, Policy, PolicyConfig};

const LN_2PI: f64 = 1.837_877_066_409_345_3;
/// The actor's last layer starts this small, so first actions are near zero (PPO practice).
const LAST_LAYER_GAIN: f64 = 0.01;

enum ActorNet {
    /// Network -> (g, w) -> DMP sampled at the k+1 call points.
    Ndp {
        policy: Box<Policy>,
        points: DmpLayer,
        /// log a_z when a_z is learned (then the DMP is integrated step by step).
        log_a_z: Option<Tensor>,
    },
    /// Network -> k raw actions.
    Raw(Mlp),
}

pub struct Agent {
    pub cfg: ActorConfig,
    pub spec: EnvSpec,
    actor: ActorNet,
    critic: Mlp,
    log_std: Tensor,
    pub varmap: VarMap,
}

impl Agent {
    /// A fresh agent with weights drawn from `seed`.
    pub fn new(cfg: &ActorConfig, spec: &EnvSpec, seed: u64) -> Result<Self> {
        check_spec(cfg, spec)?;
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, seed, DType::F32, &dev);
        let (k, a) = (cfg.k, spec.act_dim);
        let (actor, last) = match cfg.kind {
            ActorKind::Ndp => {
                let dmp = cfg.dmp.clone().expect("validated: ndp has a dmp");
                let pc = actor_policy_config(cfg, spec);
                let policy = Policy::new(&pc, &dmp, vb.pp("actor"))?;
                let cols: Vec<usize> = (0..=k).map(|j| j * dmp.substeps).collect();
                let points = DmpLayer::with_points(&dmp, &cols)?;
                let log_a_z = if cfg.learn_a_z {
                    Some(vb.get_with_hints((), "actor.log_a_z", Init::Const(dmp.a_z.ln()))?)
                } else {
                    None
                };
                (
                    ActorNet::Ndp {
                        policy: Box::new(policy),
                        points,
                        log_a_z,
                    },
                    "actor.head.0".to_string(),
                )
            }
            ActorKind::Ppo | ActorKind::PpoMulti => {
                let mlp = Mlp::new(spec.obs_dim, &cfg.hidden, k * a, false, vb.pp("actor"))?;
                (ActorNet::Raw(mlp), format!("actor.{}", cfg.hidden.len()))
            }
        };
        let heads = k;
        let critic = Mlp::new(spec.obs_dim, &cfg.hidden, heads, false, vb.pp("critic"))?;
        let log_std = vb.get_with_hints(a, "actor.log_std", Init::Const(cfg.init_log_std))?;
        {
            let vars = varmap.data().lock().expect("varmap lock");
            for suffix in ["weight", "bias"] {
                let v = &vars[&format!("{last}.{suffix}")];
                v.set(&(v.as_tensor() * LAST_LAYER_GAIN)?)?;
            }
        }
        Ok(Agent {
            cfg: cfg.clone(),
            spec: spec.clone(),
            actor,
            critic,
            log_std,
            varmap,
        })
    }

    pub fn k(&self) -> usize {
        self.cfg.k
    }

    pub fn act_dim(&self) -> usize {
        self.spec.act_dim
    }

    /// The DMP start of one raw observation: y0 and dy0 per action dimension.
    pub fn dmp_start(&self, obs: &[f64], y0: &mut Vec<f32>, dy0: &mut Vec<f32>) {
        let s = self.cfg.y0_scale;
        for d in 0..self.spec.act_dim {
            let pos = self.cfg.y0_index.get(d).copied().flatten();
            y0.push(pos.map_or(0.0, |i| obs[i] * s) as f32);
            let prev = self.cfg.prev_index.get(d).copied().flatten();
            let v = match (pos, prev) {
                (Some(i), Some(p)) => (obs[i] - obs[p]) * s * self.cfg.k as f64,
                _ => 0.0,
            };
            dy0.push(v as f32);
        }
    }

    /// Action means (B, k, A) for normalised observations (B, obs) and DMP starts (B, A).
    pub fn means(&self, obs: &Tensor, y0: &Tensor, dy0: &Tensor) -> Result<Tensor> {
        let (b, k, a) = (obs.dim(0)?, self.cfg.k, self.spec.act_dim);
        match &self.actor {
            ActorNet::Raw(mlp) => Ok(mlp.forward(obs)?.reshape((b, k, a))?),
            ActorNet::Ndp {
                policy,
                points,
                log_a_z,
            } => {
                let raw = policy.raw(obs)?;
                let (g, w) = policy.dmp_params(&raw, y0)?;
                let w = if self.cfg.only_g { w.zeros_like()? } else { w };
                // (B, A, k + 1): the call's points, every `substeps`-th of the rollout.
                let y = match log_a_z {
                    None => points.forward(y0, dy0, &g, &w)?,
                    Some(l) => {
                        let dmp = policy.dmp_config();
                        let all = rollout_unrolled_az(dmp, y0, dy0, &g, &w, &l.exp()?)?;
                        let idx: Vec<u32> = (0..=k).map(|j| (j * dmp.substeps) as u32).collect();
                        let idx = Tensor::new(idx.as_slice(), obs.device())?;
                        all.index_select(&idx, 2)?
                    }
                };
                let out = match self.cfg.mode {
                    ActionMode::Delta => (y.narrow(2, 1, k)? - y.narrow(2, 0, k)?)?,
                    ActionMode::Position => (y.narrow(2, 1, k)? / self.cfg.y0_scale)?,
                };
                Ok(out.transpose(1, 2)?.contiguous()?)
            }
        }
    }

    /// Values (B, k): head j estimates the value of the state j sub-steps after the call.
    pub fn values(&self, obs: &Tensor) -> Result<Tensor> {
        Ok(self.critic.forward(obs)?)
    }

    pub fn log_std(&self) -> &Tensor {
        &self.log_std
    }

    /// Log-probabilities (B, k) of actions (B, k, A) under means (B, k, A).
    pub fn log_prob(&self, means: &Tensor, actions: &Tensor) -> Result<Tensor> {
        let a = self.spec.act_dim as f64;
        let z = (actions - means)?.broadcast_div(&self.log_std.exp()?)?;
        let quad = (z.sqr()?.sum(D::Minus1)? * -0.5)?;
        let norm = self.log_std.sum_all()?.affine(1.0, 0.5 * a * LN_2PI)?;
        Ok(quad.broadcast_sub(&norm)?)
    }

    /// Entropy of one sub-action's Gaussian (a scalar tensor).
    pub fn entropy(&self) -> Result<Tensor> {
        let a = self.spec.act_dim as f64;
        Ok(self
            .log_std
            .sum_all()?
            .affine(1.0, 0.5 * a * (1.0 + LN_2PI))?)
    }
}

/// The NDP actor as a stand-alone policy (under `actor.` in the agent's weights): an MLP on
/// the observation, one DMP per action dimension.
pub fn actor_policy_config(cfg: &ActorConfig, spec: &EnvSpec) -> PolicyConfig {
    PolicyConfig {
        kind: ModelKind::Ndp,
        encoder: EncoderKind::Mlp,
        input_size: spec.obs_dim,
        state_size: 0,
        conv: Default::default(),
        encoder_hidden: cfg.hidden.clone(),
        head_hidden: vec![],
        dof: spec.act_dim,
        goal_scale: cfg.goal_scale,
        weight_scale: cfg.weight_scale,
        trajectory_scale: 1.0,
        cnn_origin: None,
        dy0: 0.0,
    }
}

/// The actor's index lists must fit the environment.
pub fn check_spec(cfg: &ActorConfig, spec: &EnvSpec) -> Result<()> {
    for (key, list) in [("y0_index", &cfg.y0_index), ("prev_index", &cfg.prev_index)] {
        if !list.is_empty() && list.len() != spec.act_dim {
            return Err(Error::invalid(
                format!("policy.{key}"),
                format!(
                    "needs one entry per action dimension ({}), got {}",
                    spec.act_dim,
                    list.len()
                ),
            ));
        }
        if let Some(i) = list.iter().flatten().find(|&&i| i >= spec.obs_dim) {
            return Err(Error::invalid(
                format!("policy.{key}"),
                format!(
                    "index {i} is past the observation's {} values",
                    spec.obs_dim
                ),
            ));
        }
    }
    Ok(())
}
