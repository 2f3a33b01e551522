//! A PPO run config: `env:`, `policy:` and `ppo:` sections; unknown keys are errors.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dmp::DmpConfig;
use crate::env::EnvConfig;
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpoRunConfig {
    pub env: EnvConfig,
    pub policy: ActorConfig,
    pub ppo: PpoConfig,
}

/// What one policy call produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorKind {
    /// k actions from one DMP rollout (the paper's method).
    Ndp,
    /// One raw action per call (plain PPO).
    Ppo,
    /// k raw actions per call with the multi-action critic (the paper's PPO-multi).
    PpoMulti,
}

/// How the DMP trajectory becomes actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionMode {
    /// Consecutive differences of the sampled points (delta-position envs such as Meta-World).
    #[default]
    Delta,
    /// The sampled points themselves, divided by `y0_scale` (position-controlled joints).
    Position,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorConfig {
    pub kind: ActorKind,
    /// Hidden widths of the actor and of the critic (ReLU).
    pub hidden: Vec<usize>,
    /// Actions per policy call (the DMP's T for `ndp`; 1 for `ppo`).
    pub k: usize,
    /// Initial log standard deviation of every action dimension (learned, state-independent).
    #[serde(default = "default_log_std")]
    pub init_log_std: f64,
    /// The DMP of `ndp` (its `t` must equal k; `substeps` is the paper's l).
    #[serde(default)]
    pub dmp: Option<DmpConfig>,
    /// g = y0 + goal_scale * output.
    #[serde(default = "one")]
    pub goal_scale: f64,
    /// w = weight_scale * output.
    #[serde(default = "ten")]
    pub weight_scale: f64,
    /// Ablation: the network predicts only the goal (w = 0).
    #[serde(default)]
    pub only_g: bool,
    /// Ablation: a_z is a learned parameter (starting at dmp.a_z; b_z = a_z / 4). The DMP is
    /// then integrated step by step (slower) instead of in closed form.
    #[serde(default)]
    pub learn_a_z: bool,
    #[serde(default)]
    pub mode: ActionMode,
    /// Per action dimension, the observation index of its current position (y0), or null for
    /// a dimension with no observed position (it starts from 0 each call).
    #[serde(default)]
    pub y0_index: Vec<Option<usize>>,
    /// Per action dimension, the observation index of its previous position (dy0 from the
    /// difference), or null for dy0 = 0. Empty: dy0 = 0 everywhere.
    #[serde(default)]
    pub prev_index: Vec<Option<usize>>,
    /// DMP units per observed unit (100 for Meta-World: 1 cm is one unit of action).
    #[serde(default = "one")]
    pub y0_scale: f64,
}

fn default_log_std() -> f64 {
    -0.5
}
fn one() -> f64 {
    1.0
}
fn ten() -> f64 {
    10.0
}

/// The learning algorithm's settings (defaults: the paper's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpoConfig {
    /// Environment steps to train for (all instances together).
    pub total_steps: u64,
    /// Environment steps per instance in one rollout (a multiple of k).
    pub rollout_steps: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Decay the learning rate linearly to 0 over `total_steps`.
    #[serde(default = "yes")]
    pub lr_decay: bool,
    #[serde(default = "default_clip")]
    pub clip: f64,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_minibatches")]
    pub minibatches: usize,
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    #[serde(default = "default_lambda")]
    pub gae_lambda: f64,
    #[serde(default = "default_ent")]
    pub ent_coef: f64,
    #[serde(default = "default_vf")]
    pub vf_coef: f64,
    #[serde(default = "default_grad_norm")]
    pub max_grad_norm: f64,
    #[serde(default = "yes")]
    pub normalize_obs: bool,
    #[serde(default = "yes")]
    pub normalize_returns: bool,
    pub seed: u64,
    /// Deterministic evaluation episodes at the end (and every `eval_every` updates).
    #[serde(default = "default_eval_episodes")]
    pub eval_episodes: usize,
    /// Updates between evaluations; 0: only at the end.
    #[serde(default)]
    pub eval_every: usize,
    /// Updates between checkpoints (one is always written at the end).
    #[serde(default = "default_ckpt")]
    pub checkpoint_every: usize,
}

fn default_lr() -> f64 {
    3e-4
}
fn yes() -> bool {
    true
}
fn default_clip() -> f64 {
    0.1
}
fn default_epochs() -> usize {
    10
}
fn default_minibatches() -> usize {
    32
}
fn default_gamma() -> f64 {
    0.99
}
fn default_lambda() -> f64 {
    0.95
}
fn default_ent() -> f64 {
    0.01
}
fn default_vf() -> f64 {
    0.5
}
fn default_grad_norm() -> f64 {
    0.5
}
fn default_eval_episodes() -> usize {
    50
}
fn default_ckpt() -> usize {
    10
}

impl PpoRunConfig {
    /// Reads and validates a config; errors name the file and the key.
    pub fn load(path: &Path) -> Result<Self> {
        crate::yaml::load_checked(path, Self::validate)
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a PPO config always serialises")
    }

    /// Checks the sections against each other too; the action and observation sizes are
    /// checked against the environment when it exists (`check_spec`).
    pub fn validate(&self) -> Result<()> {
        self.env.validate()?;
        let p = &self.policy;
        if p.k == 0 {
            return Err(Error::invalid("policy.k", "must be at least 1"));
        }
        if p.kind == ActorKind::Ppo && p.k != 1 {
            return Err(Error::invalid(
                "policy.k",
                format!(
                    "kind `ppo` takes one action per call: set k: 1 (got {})",
                    p.k
                ),
            ));
        }
        if let Some(i) = p.hidden.iter().position(|&h| h == 0) {
            return Err(Error::invalid(
                format!("policy.hidden[{i}]"),
                "must be at least 1",
            ));
        }
        if p.hidden.is_empty() {
            return Err(Error::invalid(
                "policy.hidden",
                "needs at least one hidden width",
            ));
        }
        match (&p.kind, &p.dmp) {
            (ActorKind::Ndp, None) => {
                return Err(Error::invalid(
                    "policy.dmp",
                    "kind `ndp` needs a `dmp` section",
                ))
            }
            (ActorKind::Ndp, Some(d)) => {
                d.validate("policy.dmp")?;
                if d.t != p.k {
                    return Err(Error::invalid(
                        "policy.dmp.t",
                        format!(
                            "must equal policy.k ({}): one DMP interval per action, got {}",
                            p.k, d.t
                        ),
                    ));
                }
            }
            (_, Some(_)) => return Err(Error::invalid("policy.dmp", "only kind `ndp` has a DMP")),
            _ => {}
        }
        for (k, v) in [
            ("goal_scale", p.goal_scale),
            ("weight_scale", p.weight_scale),
            ("y0_scale", p.y0_scale),
            ("init_log_std", p.init_log_std),
        ] {
            if !v.is_finite() || (k == "y0_scale" && v == 0.0) {
                return Err(Error::invalid(
                    format!("policy.{k}"),
                    format!("must be finite and non-zero where it scales, got {v}"),
                ));
            }
        }
        let o = &self.ppo;
        if o.total_steps == 0 {
            return Err(Error::invalid("ppo.total_steps", "must be at least 1"));
        }
        if o.rollout_steps == 0 || o.rollout_steps % p.k != 0 {
            return Err(Error::invalid(
                "ppo.rollout_steps",
                format!(
                    "must be a positive multiple of policy.k ({}), got {}",
                    p.k, o.rollout_steps
                ),
            ));
        }
        if o.epochs == 0 {
            return Err(Error::invalid("ppo.epochs", "must be at least 1"));
        }
        let calls = o.rollout_steps / p.k * self.env.num_envs;
        if o.minibatches == 0 || o.minibatches > calls {
            return Err(Error::invalid(
                "ppo.minibatches",
                format!(
                    "must be between 1 and the policy calls per rollout ({calls}), got {}",
                    o.minibatches
                ),
            ));
        }
        for (k, v, lo, hi) in [
            ("lr", o.lr, 0.0, f64::INFINITY),
            ("clip", o.clip, 0.0, 1.0),
            ("gamma", o.gamma, 0.0, 1.0),
            ("gae_lambda", o.gae_lambda, 0.0, 1.0),
            ("max_grad_norm", o.max_grad_norm, 0.0, f64::INFINITY),
        ] {
            if !(v.is_finite() && v > lo && v <= hi) {
                return Err(Error::invalid(
                    format!("ppo.{k}"),
                    format!("must be in ({lo}, {hi}], got {v}"),
                ));
            }
        }
        for (k, v) in [("ent_coef", o.ent_coef), ("vf_coef", o.vf_coef)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    format!("ppo.{k}"),
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        if o.checkpoint_every == 0 {
            return Err(Error::invalid("ppo.checkpoint_every", "must be at least 1"));
        }
        Ok(())
    }
}
