//! Checkpoints: `model.safetensors` (parameters named by VarBuilder path) beside the
//! `config.yaml` that made them and `deploy.yaml`, the contract the node checks. Both are written atomically; loading checks every tensor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;

use super::config::RunConfig;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::policy::seeded::seeded_var_builder;
use crate::policy::Policy;

pub const WEIGHTS: &str = "model.safetensors";
pub const CONFIG: &str = "config.yaml";

/// A fresh policy with random weights drawn from `train.seed` (the same seed, the same
/// network), and the map that owns them.
pub fn init(cfg: &RunConfig, device: &Device) -> Result<(Policy, VarMap)> {
    let varmap = VarMap::new();
    let vb = seeded_var_builder(&varmap, cfg.train.seed, DType::F32, device);
    let policy = Policy::new(&cfg.model, &cfg.dmp, vb)?;
    Ok((policy, varmap))
}

/// Writes named tensors as a safetensors file (atomically: a reader never sees half a file).
pub fn write_weights(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let bytes = safetensors::serialize(tensors, None).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        msg: format!("serialising: {e}"),
    })?;
    write_atomic(path, &bytes)
}

/// Writes the weights and the config into `run` (created if needed).
pub fn save(run: &Path, cfg: &RunConfig, varmap: &VarMap) -> Result<()> {
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    write_weights(&run.join(WEIGHTS), &tensors)?;
    write_atomic(&run.join(CONFIG), cfg.to_yaml().as_bytes())?;
    cfg.deployment().save(run)
}

/// Loads `run/config.yaml` and `run/model.safetensors` into a policy.
pub fn load(run: &Path, device: &Device) -> Result<(RunConfig, Policy, VarMap)> {
    let cfg = RunConfig::load(&run.join(CONFIG))?;
    let (policy, varmap) = init(&cfg, device)?;
    load_weights(&run.join(WEIGHTS), &varmap, device)?;
    Ok((cfg, policy, varmap))
}

/// Sets every variable of `varmap` from the file; a missing, extra or misshapen tensor, or a
/// truncated file, is an error naming the file and the tensor.
pub fn load_weights(path: &Path, varmap: &VarMap, device: &Device) -> Result<()> {
    load_weights_except(path, varmap, device, None)
}

/// As `load_weights`, for a file that also holds optimiser state (tensors named `adam.*`).
pub fn load_weights_partial(path: &Path, varmap: &VarMap, device: &Device) -> Result<()> {
    load_weights_except(path, varmap, device, Some("adam."))
}

fn load_weights_except(
    path: &Path,
    varmap: &VarMap,
    device: &Device,
    other_prefix: Option<&str>,
) -> Result<()> {
    let err = |msg: String| Error::Checkpoint {
        path: PathBuf::from(path),
        msg,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| {
        err(format!(
            "not a readable safetensors file (truncated or corrupt?): {e}"
        ))
    })?;
    let vars = varmap.data().lock().expect("varmap lock");
    // Sorted, so the error for a mismatched file always names the same (first) tensor.
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let t = file.get(name).ok_or_else(|| {
            err(format!(
                "tensor `{name}` is missing (was it made by another config?)"
            ))
        })?;
        if t.dims() != var.dims() {
            return Err(err(format!(
                "tensor `{name}` has shape {:?}, the config makes {:?}",
                t.dims(),
                var.dims()
            )));
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    let other = |k: &str| other_prefix.is_some_and(|p| k.starts_with(p));
    if let Some(extra) = file.keys().find(|k| !vars.contains_key(*k) && !other(k)) {
        return Err(err(format!(
            "unexpected tensor `{extra}` (was it made by another config?)"
        )));
    }
    Ok(())
}
