//! Success rate of a behaviour-cloned policy acting in an environment: each call predicts a
//! trajectory from the observation and the current positions; the first k intervals (every
//! `substeps`-th point) become k delta actions, as the node would execute them.

use candle_core::{Device, Tensor};

use crate::env::VecEnv;
use crate::error::{Error, Result};
use crate::policy::Policy;

/// How trajectory points map to the environment's actions.
#[derive(Clone, Debug)]
pub struct SimActions {
    /// Observation index of each DoF's position (y0).
    pub position_index: Vec<usize>,
    /// Position change per unit action (Meta-World and the built-in tasks: 0.01 m).
    pub action_scale: f64,
}

/// Runs `episodes` episodes (seeds seed, seed + 1, ...) with the policy's mean trajectory;
/// an episode succeeds if the success flag is ever set.
pub fn policy_success(
    policy: &Policy,
    envs: &mut VecEnv,
    episodes: usize,
    seed: u64,
    map: &SimActions,
) -> Result<f64> {
    let dmp = policy.dmp_config();
    let (k, l) = (dmp.t, dmp.substeps);
    let dof = policy.config().dof;
    if dof != map.position_index.len() {
        return Err(Error::invalid(
            "position_index",
            format!(
                "the policy has {dof} DoF, {} positions given",
                map.position_index.len()
            ),
        ));
    }
    let spec = envs.spec().clone();
    if dof > spec.act_dim {
        return Err(Error::invalid(
            "model.dof",
            format!(
                "{dof} DoF but the environment takes {} actions",
                spec.act_dim
            ),
        ));
    }
    let dev = Device::Cpu;
    let mut successes = 0;
    for ep in 0..episodes {
        let mut obs = envs.reset(0, Some(seed + ep as u64))?;
        let mut success = false;
        let mut steps = 0;
        'episode: while steps < spec.max_steps {
            let x: Vec<f32> = obs.iter().map(|&v| v as f32).collect();
            let y0: Vec<f32> = map.position_index.iter().map(|&i| obs[i] as f32).collect();
            let traj = policy
                .trajectory(
                    &Tensor::from_vec(x, (1, spec.obs_dim), &dev)?,
                    &Tensor::from_vec(y0, (1, dof), &dev)?,
                )?
                .squeeze(0)?
                .to_vec2::<f32>()?;
            for j in 0..k {
                let mut a = vec![0.0; spec.act_dim];
                for (d, ad) in a.iter_mut().enumerate().take(dof) {
                    *ad = (traj[(j + 1) * l][d] - traj[j * l][d]) as f64 / map.action_scale;
                }
                let s = envs
                    .step(&[Some(a)])?
                    .pop()
                    .flatten()
                    .expect("one instance");
                steps += 1;
                if !s.obs.iter().all(|v| v.is_finite()) {
                    break 'episode;
                }
                success |= s.success;
                obs = s.obs;
                if s.terminated || s.truncated {
                    break 'episode;
                }
            }
        }
        successes += success as usize;
    }
    Ok(successes as f64 / episodes.max(1) as f64)
}
