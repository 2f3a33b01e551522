//! Adam whose moments are named tensors, so a checkpoint can hold them and a resumed run
//! continues exactly (candle-nn's AdamW keeps its state private).

use std::collections::HashMap;

use candle_core::{backprop::GradStore, Tensor, Var};

use crate::error::{Error, Result};

pub struct Adam {
    /// (name, variable, first moment, second moment), sorted by name.
    params: Vec<(String, Var, Tensor, Tensor)>,
    pub lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Steps taken (bias correction).
    pub step: u64,
}

impl Adam {
    /// Optimises the named variables (the PPO defaults: betas 0.9, 0.999, eps 1e-5).
    pub fn new(vars: &HashMap<String, Var>, lr: f64) -> Result<Self> {
        let mut params = vars
            .iter()
            .map(|(n, v)| {
                let z = v.as_tensor().zeros_like()?;
                Ok((n.clone(), v.clone(), z.clone(), z))
            })
            .collect::<Result<Vec<_>>>()?;
        params.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Adam {
            params,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-5,
            step: 0,
        })
    }

    /// The global L2 norm of the gradients (variables without one count as zero).
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut sq = 0.0;
        for (_, v, _, _) in &self.params {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        Ok(sq.sqrt())
    }

    /// One step with every gradient multiplied by `scale` (gradient-norm clipping).
    pub fn step(&mut self, grads: &GradStore, scale: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        let step_size = self.lr / c1;
        for (_, v, m, s) in &mut self.params {
            let Some(g) = grads.get(v.as_tensor()) else {
                continue;
            };
            // Detached: the moments must not chain a graph through every step.
            let g = (g.detach() * scale)?;
            *m = ((&*m * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            *s = ((&*s * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let denom = ((&*s / c2)?.sqrt()? + self.eps)?;
            let update = ((&*m / denom)? * step_size)?;
            v.set(&(v.as_tensor() - update)?)?;
            *m = m.detach();
            *s = s.detach();
        }
        Ok(())
    }

    /// The moments as named tensors (`adam.m.NAME`, `adam.v.NAME`).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .flat_map(|(n, _, m, s)| {
                [
                    (format!("adam.m.{n}"), m.clone()),
                    (format!("adam.v.{n}"), s.clone()),
                ]
            })
            .collect()
    }

    /// Restores the moments written by `state`; every one must be present with its shape.
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, step: u64) -> Result<()> {
        for (n, v, m, s) in &mut self.params {
            for (key, slot) in [(format!("adam.m.{n}"), &mut *m), (format!("adam.v.{n}"), s)] {
                let t = tensors.get(&key).ok_or_else(|| {
                    Error::invalid("checkpoint", format!("optimiser tensor `{key}` is missing"))
                })?;
                if t.dims() != v.dims() {
                    return Err(Error::invalid(
                        "checkpoint",
                        format!("optimiser tensor `{key}` has shape {:?}", t.dims()),
                    ));
                }
                *slot = t.clone();
            }
        }
        self.step = step;
        Ok(())
    }
}
