//! Fitting DMP weights to a demonstration: least squares of the forcing term over the basis,
//! with Euler-consistent differences so that fitting inverts the integrator exactly.

use nalgebra::{DMatrix, DVector};

use super::basis::Basis;
use super::config::DmpConfig;
use crate::error::{Error, Result};

/// Fits w (length N) for one DoF of `traj` (points of one rollout) towards goal `g`.
///
/// With z_j = (y_{j+1} - y_j)/dt the Euler recursion gives
/// f_j = (z_{j+1} - z_j)/dt - a_z (b_z (g - y_j) - z_j) = sum_i phi_i(x_{j+1}) (g - y0) w_i,
/// solved in the least-squares sense with a ridge `ridge` relative to the mean diagonal of the
/// normal equations (floored at 1e-12; a DoF with g = y0 gets w = 0). Narrow bases make the
/// problem ill-conditioned: 1e-12 reproduces a rollout exactly but with weights in the
/// millions on real demonstrations; 1e-2 keeps them near 1e3 and moves the rollout by ~0.03 px^2
/// on the digits (README, "Baselines").
pub fn fit_forcing(cfg: &DmpConfig, traj: &[f64], g: f64, ridge: f64) -> Result<Vec<f64>> {
    let s = traj.len();
    if s < 4 {
        return Err(Error::Shape {
            what: "demonstration to fit".into(),
            expected: "at least 4 points".into(),
            got: s.to_string(),
        });
    }
    let basis = Basis::new(cfg);
    let n = cfg.n_basis;
    let (a_z, b_z, a_x, dt) = (cfg.a_z, cfg.b_z(), cfg.a_x, cfg.dt());
    let y0 = traj[0];
    let rows = s - 2;
    let mut a = DMatrix::<f64>::zeros(rows, n);
    let mut b = DVector::<f64>::zeros(rows);
    let mut phi = vec![0.0; n];
    let mut x = 1.0;
    for j in 0..rows {
        x += -a_x * x * dt;
        basis.forcing_coefficients(x, &mut phi);
        let z0 = (traj[j + 1] - traj[j]) / dt;
        let z1 = (traj[j + 2] - traj[j + 1]) / dt;
        b[j] = (z1 - z0) / dt - a_z * (b_z * (g - traj[j]) - z0);
        for i in 0..n {
            a[(j, i)] = phi[i] * (g - y0);
        }
    }
    let mut ata = a.transpose() * &a;
    let ridge = ridge.max(1e-12) * (ata.trace() / n as f64).max(1e-300);
    for i in 0..n {
        ata[(i, i)] += ridge;
    }
    let atb = a.transpose() * b;
    let w = ata
        .cholesky()
        .map(|c| c.solve(&atb))
        .unwrap_or_else(|| DVector::zeros(n));
    Ok(w.iter().copied().collect())
}
