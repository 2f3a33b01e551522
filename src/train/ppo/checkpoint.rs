//! PPO checkpoints: `ckpt-NNNNNN/` holds the weights with the optimiser moments
//! (`weights.safetensors`) and the counters and normalisers (`state.json`); the file `latest`
//! names the newest complete one and is replaced atomically only after it is fully written,
//! so a crash or a dead simulator mid-save never leaves a broken checkpoint in use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::agent::Agent;
use super::normalize::{ObsNorm, ReturnNorm};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::train::adam::Adam;

pub const LATEST: &str = "latest";
pub const CONFIG: &str = "config.yaml";
const WEIGHTS: &str = "weights.safetensors";
const STATE: &str = "state.json";

/// Everything besides tensors that a resumed run needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub update: u64,
    pub env_steps: u64,
    pub episodes: u64,
    pub nan_skipped: u64,
    pub adam_step: u64,
    pub obs_norm: ObsNorm,
    pub ret_norm: ReturnNorm,
    /// (env steps, training success rate) per update, for the learning curve.
    pub curve: Vec<(u64, f64)>,
    /// (env steps, evaluation success rate).
    pub eval_curve: Vec<(u64, f64)>,
}

/// Writes checkpoint `state.update` and points `latest` at it; older ones are removed.
pub fn save(run: &Path, agent: &Agent, adam: &Adam, state: &TrainState) -> Result<PathBuf> {
    let name = format!("ckpt-{:06}", state.update);
    let dir = run.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut tensors: HashMap<String, Tensor> = agent
        .varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    tensors.extend(adam.state()?);
    crate::train::checkpoint::write_weights(&dir.join(WEIGHTS), &tensors)?;
    let json = serde_json::to_vec_pretty(state).expect("state serialises");
    write_atomic(&dir.join(STATE), &json)?;
    write_atomic(&run.join(LATEST), name.as_bytes())?;
    // Older checkpoints go only after `latest` names the new one.
    if let Ok(entries) = std::fs::read_dir(run) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("ckpt-") && n != name {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(dir)
}

/// The servable bundle of an NDP run, beside its checkpoints.
pub const POLICY: &str = "policy";

/// Writes `run/policy/`: the actor as a stand-alone policy (config.yaml, model.safetensors)
/// and its deployment contract (deploy.yaml: the observation vector and its normalisation,
/// dy0 by position difference, DMP units per position), so that `ndp_policy` (observation:
/// vector) and `ndp eval-sim` serve it. Only NDP actors have a DMP to serve: None for the
/// raw-action baselines.
pub fn export_policy(run: &Path, agent: &Agent, state: &TrainState) -> Result<Option<PathBuf>> {
    use crate::policy::deployment::{
        Action, Deployment, Dy0, Normalization, ObservationKind, FORMAT,
    };
    use crate::train::config::{RunConfig, TrainConfig};
    let (cfg, spec) = (&agent.cfg, &agent.spec);
    let Some(dmp) = cfg.dmp.clone() else {
        return Ok(None);
    };
    let dir = run.join(POLICY);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tensors: HashMap<String, Tensor> = agent
        .varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("actor.")?;
            (name != "log_std" && name != "log_a_z")
                .then(|| (name.to_string(), v.as_tensor().clone()))
        })
        .collect();
    crate::train::checkpoint::write_weights(
        &dir.join(crate::train::checkpoint::WEIGHTS),
        &tensors,
    )?;
    let rc = RunConfig {
        model: super::agent::actor_policy_config(cfg, spec),
        dmp,
        // Not used to serve; valid values so that the config loads like any other run's.
        train: TrainConfig {
            batch_size: 1,
            epochs: 1,
            lr: 1e-3,
            seed: 0,
            max_train: None,
            max_test: None,
        },
        data: None,
        bag_data: None,
    };
    write_atomic(
        &dir.join(crate::train::checkpoint::CONFIG),
        rc.to_yaml().as_bytes(),
    )?;
    let n = &state.obs_norm;
    let d = Deployment {
        format: FORMAT,
        trainer: "ppo".into(),
        // k environment steps per plan; the environment's rate is the deployment's to set.
        plan_duration_s: None,
        dy0: if cfg.prev_index.is_empty() {
            Dy0::Constant(0.0)
        } else {
            Dy0::Measured
        },
        action: Action::Positions,
        observation: ObservationKind::Vector,
        joint_names: vec![],
        image_side: None,
        vector_size: Some(spec.obs_dim),
        normalization: n.enabled.then(|| Normalization {
            mean: n.stat.mean.clone(),
            var: n.stat.var.clone(),
            clip: super::normalize::CLIP,
        }),
        position_scale: cfg.y0_scale,
        position_index: cfg.y0_index.clone(),
        prev_index: cfg.prev_index.clone(),
    };
    d.save(&dir)?;
    Ok(Some(dir))
}

/// The directory `latest` names, if the run has one.
pub fn latest(run: &Path) -> Result<Option<PathBuf>> {
    let path = run.join(LATEST);
    match std::fs::read_to_string(&path) {
        Ok(name) => {
            let name = name.trim();
            if !name.starts_with("ckpt-") || name.contains('/') {
                return Err(Error::Checkpoint {
                    path,
                    msg: format!("does not name a checkpoint directory: {name:?}"),
                });
            }
            Ok(Some(run.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Loads the weights and optimiser moments of `dir` into `agent` and `adam`; returns the state.
pub fn load(dir: &Path, agent: &Agent, adam: &mut Adam) -> Result<TrainState> {
    let state_path = dir.join(STATE);
    let text = std::fs::read(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: TrainState = serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
        path: state_path.clone(),
        msg: format!("not a readable training state (truncated?): {e}"),
    })?;
    let weights = dir.join(WEIGHTS);
    crate::train::checkpoint::load_weights_partial(&weights, &agent.varmap, &Device::Cpu)?;
    let bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
    let all = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
        Error::Checkpoint {
            path: weights.clone(),
            msg: format!("not a readable safetensors file: {e}"),
        }
    })?;
    adam.load_state(&all, state.adam_step)
        .map_err(|e| Error::Checkpoint {
            path: weights.clone(),
            msg: e.to_string(),
        })?;
    Ok(state)
}
