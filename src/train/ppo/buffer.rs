//! One rollout: per policy call the normalised observation and DMP start, per sub-step the
//! sampled action, its log-probability, the critic head's value, the (scaled) reward and
//! whether the episode ended; then GAE over each instance's sub-steps in time order.

/// Index helpers over calls c, instances e, sub-steps j.
pub struct Buffer {
    pub calls: usize,
    pub envs: usize,
    pub k: usize,
    pub obs_dim: usize,
    pub act_dim: usize,
    pub obs: Vec<f32>,
    pub y0: Vec<f32>,
    pub dy0: Vec<f32>,
    pub actions: Vec<f32>,
    pub logp: Vec<f32>,
    pub value: Vec<f32>,
    pub reward: Vec<f64>,
    pub done: Vec<bool>,
    /// The sub-step ran (an episode that ended mid-call leaves the rest of the call unrun).
    pub executed: Vec<bool>,
    /// The sub-step is trained on (executed, and its episode was not dropped for NaN).
    pub train: Vec<bool>,
    pub adv: Vec<f32>,
    pub ret: Vec<f32>,
}

impl Buffer {
    pub fn new(calls: usize, envs: usize, k: usize, obs_dim: usize, act_dim: usize) -> Self {
        let n = calls * envs;
        let s = n * k;
        Buffer {
            calls,
            envs,
            k,
            obs_dim,
            act_dim,
            obs: vec![0.0; n * obs_dim],
            y0: vec![0.0; n * act_dim],
            dy0: vec![0.0; n * act_dim],
            actions: vec![0.0; s * act_dim],
            logp: vec![0.0; s],
            value: vec![0.0; s],
            reward: vec![0.0; s],
            done: vec![false; s],
            executed: vec![false; s],
            train: vec![false; s],
            adv: vec![0.0; s],
            ret: vec![0.0; s],
        }
    }

    /// Index of call (c, e).
    pub fn call(&self, c: usize, e: usize) -> usize {
        c * self.envs + e
    }

    /// Index of sub-step j of call (c, e).
    pub fn sub(&self, c: usize, e: usize, j: usize) -> usize {
        self.call(c, e) * self.k + j
    }

    /// Clears the per-sub-step flags for a new rollout.
    pub fn clear(&mut self) {
        self.executed.fill(false);
        self.train.fill(false);
        self.done.fill(false);
        self.reward.fill(0.0);
    }

    /// GAE(gamma, lambda) per instance over its executed sub-steps; `last_value[e]` bootstraps
    /// the step after the rollout.
    pub fn compute_gae(&mut self, last_value: &[f32], gamma: f64, lambda: f64) {
        for (e, &lv) in last_value.iter().enumerate().take(self.envs) {
            let mut gae = 0.0f64;
            let mut next_value = lv as f64;
            for c in (0..self.calls).rev() {
                for j in (0..self.k).rev() {
                    let i = self.sub(c, e, j);
                    if !self.executed[i] {
                        continue;
                    }
                    let nonterminal = if self.done[i] { 0.0 } else { 1.0 };
                    let v = self.value[i] as f64;
                    let delta = self.reward[i] + gamma * next_value * nonterminal - v;
                    gae = delta + gamma * lambda * nonterminal * gae;
                    self.adv[i] = gae as f32;
                    self.ret[i] = (gae + v) as f32;
                    next_value = v;
                }
            }
        }
    }
}
