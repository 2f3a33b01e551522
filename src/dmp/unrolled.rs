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
    let scalar =
        |v: f64| -> Result<Tensor> { Ok(Tensor::new(v, w.device())?.to_dtype(w.dtype())?) };
    integrate(cfg, y0, dy0, g, w, &scalar(cfg.a_z)?, &scalar(cfg.b_z())?)
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
    let a_z = a_z.reshape(())?.to_dtype(w.dtype())?;
    integrate(cfg, y0, dy0, g, w, &a_z, &(&a_z * 0.25)?)
}

/// The reference's Euler loop with a_z and b_z as scalar tensors.
fn integrate(
    cfg: &DmpConfig,
    y0: &Tensor,
    dy0: &Tensor,
    g: &Tensor,
    w: &Tensor,
    a_z: &Tensor,
    b_z: &Tensor,
) -> Result<Tensor> {
    let basis = Basis::new(cfg);
    let (a_x, dt) = (cfg.a_x, cfg.dt());
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
        let spring = (g - &y)?.broadcast_mul(b_z)?;
        let dz = ((spring - &z)?.broadcast_mul(a_z)? + f)?;
        y = (&y + (&z * dt)?)?;
        z = (&z + (dz * dt)?)?;
        out.push(y.clone());
    }
    Ok(Tensor::stack(&out, D::Minus1)?)
}
