//! Running observation and return normalisation (as gym's VecNormalize): observations are
//! centred and scaled by running moments and clipped; rewards are divided by the running
//! standard deviation of the discounted return. Both are saved in checkpoints, since a policy
//! only works with the statistics it was trained with.

use serde::{Deserialize, Serialize};

use crate::policy::deployment::normalize;

const EPS: f64 = 1e-8;
pub const CLIP: f64 = 10.0;

/// Mean and variance of a stream of vectors (Chan's parallel update).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningStat {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub count: f64,
}

impl RunningStat {
    pub fn new(dim: usize) -> Self {
        RunningStat {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Adds a batch of rows (each of length dim).
    pub fn update(&mut self, rows: &[&[f64]]) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len() as f64;
        let dim = self.mean.len();
        for i in 0..dim {
            let m = rows.iter().map(|r| r[i]).sum::<f64>() / n;
            let v = rows.iter().map(|r| (r[i] - m).powi(2)).sum::<f64>() / n;
            let delta = m - self.mean[i];
            let tot = self.count + n;
            let m2 = self.var[i] * self.count + v * n + delta * delta * self.count * n / tot;
            self.mean[i] += delta * n / tot;
            self.var[i] = m2 / tot;
        }
        self.count += n;
    }
}

/// Observation normaliser; `enabled: false` passes observations through (as f32).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObsNorm {
    pub enabled: bool,
    pub stat: RunningStat,
}

impl ObsNorm {
    pub fn new(dim: usize, enabled: bool) -> Self {
        ObsNorm {
            enabled,
            stat: RunningStat::new(dim),
        }
    }

    /// Writes the normalised `obs` into `out`.
    pub fn apply(&self, obs: &[f64], out: &mut Vec<f32>) {
        if !self.enabled {
            out.extend(obs.iter().map(|&v| v as f32));
            return;
        }
        let s = &self.stat;
        out.extend(
            obs.iter()
                .enumerate()
                .map(|(i, &v)| normalize(v, s.mean[i], s.var[i], CLIP)),
        );
    }
}

/// Reward scaling by the running spread of each instance's discounted return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnNorm {
    pub enabled: bool,
    pub gamma: f64,
    pub stat: RunningStat,
    /// Discounted return so far of each instance's episode.
    #[serde(skip)]
    returns: Vec<f64>,
}

impl ReturnNorm {
    pub fn new(envs: usize, gamma: f64, enabled: bool) -> Self {
        ReturnNorm {
            enabled,
            gamma,
            stat: RunningStat::new(1),
            returns: vec![0.0; envs],
        }
    }

    /// Sizes the per-instance returns (after loading from a checkpoint).
    pub fn set_envs(&mut self, envs: usize) {
        self.returns = vec![0.0; envs];
    }

    /// The scaled reward of instance `e`'s step; `done` ends its discounted return.
    pub fn scale(&mut self, e: usize, reward: f64, done: bool) -> f64 {
        if !self.enabled {
            return reward;
        }
        self.returns[e] = self.returns[e] * self.gamma + reward;
        self.stat.update(&[&[self.returns[e]]]);
        if done {
            self.returns[e] = 0.0;
        }
        (reward / (self.stat.var[0] + EPS).sqrt()).clamp(-CLIP, CLIP)
    }

    /// Forgets instance `e`'s return (its episode was dropped).
    pub fn forget(&mut self, e: usize) {
        self.returns[e] = 0.0;
    }
}
