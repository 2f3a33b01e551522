//! The DMP integrated step by step with candle ops, exactly as the reference code does.
//! Slow (one graph node per step); kept as the oracle for the closed-form layer and its gradient.

use candle_core::{Tensor, D};

use super::basis::Basis;
use super::config::DmpConfig;
use crate::error::Result;

/// y0, dy0, g: (B, D); w: (B, D, N) -> trajectory (B, D, points), initial point first.
pub fn rollout_unrolled(
    cfg: &DmpConfig,
    y0: &Tensor,
    dy0: &Tensor,
    g: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    let basis = Basis::new(cfg);
    let (a_z, b_z, a_x, dt) = (cfg.a_z, cfg.b_z(), cfg.a_x, cfg.dt());
    let scale = (g - y0)?;
    let mut y = y0.clone();
    let mut z = dy0.clone();
    let mut x = 1.0f64;
    let mut phi = vec![0.0; cfg.n_basis];
    let mut out = Vec::with_capacity(cfg.points());
    out.push(y.clone());
    for _ in 1..cfg.points() {
        x += -a_x * x * dt;
        basis.forcing_coefficients(x, &mut phi);
        let phi_t = Tensor::new(phi.as_slice(), w.device())?.to_dtype(w.dtype())?;
        let f = (w.broadcast_mul(&phi_t)?.sum(D::Minus1)? * &scale)?;
        let dz = ((((g - &y)? * b_z)? - &z)? * a_z + f)?;
        y = (&y + (&z * dt)?)?;
        z = (&z + (dz * dt)?)?;
        out.push(y.clone());
    }
    Ok(Tensor::stack(&out, D::Minus1)?)
}

/// As `rollout_unrolled`, with a_z a tensor (one element, b_z = a_z / 4, critically damped),
/// so that a_z can be learned (the paper's learned-a_z ablation). The closed form cannot do
/// this: its operator M is a nonlinear function of a_z.
pub fn rollout_unrolled_az(
    cfg: &DmpConfig,
    y0: &Tensor,
    dy0: &Tensor,
    g: &Tensor,
    w: &Tensor,
    a_z: &Tensor,
) -> Result<Tensor> {
    let basis = Basis::new(cfg);
    let (a_x, dt) = (cfg.a_x, cfg.dt());
    let a_z = a_z.reshape(())?.to_dtype(w.dtype())?;
    let b_z = (&a_z * 0.25)?;
    let scale = (g - y0)?;
    let mut y = y0.clone();
    let mut z = dy0.clone();
    let mut x = 1.0f64;
    let mut phi = vec![0.0; cfg.n_basis];
    let mut out = Vec::with_capacity(cfg.points());
    out.push(y.clone());
    for _ in 1..cfg.points() {
        x += -a_x * x * dt;
        basis.forcing_coefficients(x, &mut phi);
        let phi_t = Tensor::new(phi.as_slice(), w.device())?.to_dtype(w.dtype())?;
        let f = (w.broadcast_mul(&phi_t)?.sum(D::Minus1)? * &scale)?;
        let spring = (g - &y)?.broadcast_mul(&b_z)?;
        let dz = ((spring - &z)?.broadcast_mul(&a_z)? + f)?;
        y = (&y + (&z * dt)?)?;
        z = (&z + (dz * dt)?)?;
        out.push(y.clone());
    }
    Ok(Tensor::stack(&out, D::Minus1)?)
}
