//! Behaviour cloning: Adam on the trajectory MSE (NDP and the `cnn` baseline) or on the DMP
//! parameters fitted to the demonstrations (the `cnn-dmp` baseline).

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use super::adam::Adam;
use super::checkpoint;
use super::config::RunConfig;
use super::data::BcData;
use super::eval::trajectory_loss;
use super::metrics::MetricsLog;
use crate::dmp::fit_forcing;
use crate::error::Result;
use crate::policy::{ModelKind, Policy};

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (px^2 for digits; raw units for cnn-dmp).
    pub train_loss: f64,
    /// Held-out trajectory MSE after the epoch.
    pub test_loss: f64,
    pub elapsed_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BcSummary {
    pub epochs: Vec<EpochReport>,
    pub wall_s: f64,
}

const EVAL_BATCH: usize = 256;
/// Ridge of the cnn-dmp fit, relative to the mean diagonal of the normal equations.
const FIT_RIDGE: f64 = 1e-2;

/// Trains a fresh policy from `cfg` and writes checkpoints and `metrics.jsonl` into `run`.
/// The checkpoint is rewritten (atomically) after every epoch.
pub fn train_bc(
    run: &Path,
    cfg: &RunConfig,
    train: &BcData,
    test: &BcData,
    progress: &ProgressBar,
) -> Result<(Policy, BcSummary)> {
    let device = Device::Cpu;
    let (policy, varmap) = checkpoint::init(cfg, &device)?;
    train.check_fits(&policy, "training data")?;
    test.check_fits(&policy, "held-out data")?;
    std::fs::create_dir_all(run).map_err(|e| crate::error::Error::io(run, e))?;
    let mut log = MetricsLog::create(&run.join("metrics.jsonl"))?;
    let param_targets = match cfg.model.kind {
        ModelKind::CnnDmp => Some(fitted_raw_targets(&policy, train)?),
        _ => None,
    };
    let vars = varmap.data().lock().expect("varmap lock").clone();
    let mut opt = Adam::with_eps(&vars, cfg.train.lr, 1e-8)?;
    let n = train.len();
    let bs = cfg.train.batch_size.min(n);
    let batches = n / bs;
    progress.set_length((cfg.train.epochs * batches) as u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.train.seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    let started = Instant::now();
    let mut epochs = Vec::new();
    for epoch in 1..=cfg.train.epochs {
        order.shuffle(&mut rng);
        let mut sum = 0.0;
        for b in 0..batches {
            let idx = Tensor::from_slice(&order[b * bs..(b + 1) * bs], bs, &device)?;
            let batch = train.select(&idx)?;
            let loss = match &param_targets {
                Some(t) => mse(
                    &policy.raw_of(&batch.obs, batch.state.as_ref())?,
                    &t.index_select(&idx, 0)?,
                )?,
                None => mse(&batch.predict(&policy)?, &batch.target)?,
            };
            opt.step(&loss.backward()?, 1.0)?;
            let l = loss.to_scalar::<f32>()? as f64;
            sum += l;
            progress.set_message(format!("epoch {epoch} loss {l:.3}"));
            progress.inc(1);
        }
        checkpoint::save(run, cfg, &varmap)?;
        let test_loss = trajectory_loss(&policy, test, EVAL_BATCH)?.mean;
        let report = EpochReport {
            epoch,
            train_loss: sum / batches as f64,
            test_loss,
            elapsed_s: started.elapsed().as_secs_f64(),
        };
        log.write(&report)?;
        let line = format!(
            "epoch {epoch}: train {} held-out {} ({:.0} s)",
            fmt_loss(report.train_loss),
            fmt_loss(report.test_loss),
            report.elapsed_s
        );
        // A hidden bar (stderr not a terminal: CI, logs) would swallow println.
        if progress.is_hidden() {
            eprintln!("{line}");
        } else {
            progress.println(line);
        }
        epochs.push(report);
    }
    progress.finish_and_clear();
    let wall_s = started.elapsed().as_secs_f64();
    Ok((policy, BcSummary { epochs, wall_s }))
}

/// Four decimals for px^2-sized losses, scientific for small ones (metres^2 from bags).
fn fmt_loss(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.01 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok((a - b)?.sqr()?.mean_all()?)
}

/// The `cnn-dmp` targets: per sample and DoF, g = the last point and w fitted to the
/// demonstration, in the head's raw output units.
fn fitted_raw_targets(policy: &Policy, data: &BcData) -> Result<Tensor> {
    let dmp = policy.dmp_config();
    let target = data.target.to_dtype(DType::F64)?.to_vec3::<f64>()?;
    let (n, d, nb) = (target.len(), policy.config().dof, dmp.n_basis);
    let mut g = Vec::with_capacity(n * d);
    let mut w = Vec::with_capacity(n * d * nb);
    let mut dof_traj = Vec::new();
    for traj in &target {
        for j in 0..d {
            dof_traj.clear();
            dof_traj.extend(traj.iter().map(|p| p[j]));
            let goal = *dof_traj.last().expect("non-empty trajectory");
            g.push(goal);
            w.extend(fit_forcing(dmp, &dof_traj, goal, FIT_RIDGE)?);
        }
    }
    let dev = data.y0.device();
    let g = Tensor::from_vec(g, (n, d), dev)?;
    let w = Tensor::from_vec(w, (n, d, nb), dev)?;
    policy.raw_target(&data.y0.to_dtype(DType::F64)?, &g, &w)
}
