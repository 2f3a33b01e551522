//! Evaluation: per-sample trajectory MSE (over time and DoF; px^2 for digits), mean and std.

use candle_core::{Tensor, D};
use serde::Serialize;

use super::data::BcData;
use crate::error::Result;
use crate::policy::Policy;

/// Mean and (population) standard deviation of the per-sample losses.
#[derive(Clone, Debug, Serialize)]
pub struct LossStats {
    pub mean: f64,
    pub std: f64,
    #[serde(skip)]
    pub per_sample: Vec<f64>,
}

impl LossStats {
    pub fn from_samples(per_sample: Vec<f64>) -> Self {
        let n = per_sample.len().max(1) as f64;
        let mean = per_sample.iter().sum::<f64>() / n;
        let var = per_sample.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        LossStats {
            mean,
            std: var.sqrt(),
            per_sample,
        }
    }
}

/// Predicted trajectories (N, points, D) in batches of `batch`.
pub fn predict(policy: &Policy, data: &BcData, batch: usize) -> Result<Tensor> {
    let mut out = Vec::new();
    let n = data.len();
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        out.push(data.slice(start, len)?.predict(policy)?);
        start += len;
    }
    Ok(Tensor::cat(&out, 0)?)
}

/// Per-sample MSE of `policy` on `data`.
pub fn trajectory_loss(policy: &Policy, data: &BcData, batch: usize) -> Result<LossStats> {
    let pred = predict(policy, data, batch)?;
    let per = (pred - &data.target)?
        .sqr()?
        .flatten_from(1)?
        .mean(D::Minus1)?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()?;
    Ok(LossStats::from_samples(per))
}
