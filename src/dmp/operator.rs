//! The closed-form DMP: for fixed constants the Euler recursion is linear, so a whole rollout
//! is Y = [y0, dy0, g, u_1..u_N] . M with u_i = w_i (g - y0) and M of shape (N+3) x points.

use super::basis::Basis;
use super::config::DmpConfig;

/// The operator M, computed once in f64 by running the recursion on coefficient vectors.
#[derive(Clone, Debug)]
pub struct ClosedForm {
    k: usize,
    points: usize,
    /// Row-major K x points.
    m: Vec<f64>,
}

impl ClosedForm {
    /// The operator for every point of the rollout (T * l + 1 columns).
    pub fn new(cfg: &DmpConfig) -> Self {
        let basis = Basis::new(cfg);
        let n = cfg.n_basis;
        let k = n + 3;
        let points = cfg.points();
        let (a_z, b_z, a_x, dt) = (cfg.a_z, cfg.b_z(), cfg.a_x, cfg.dt());
        // y and z as linear functions of p = [y0, dy0, g, u_1..u_N].
        let mut y = vec![0.0; k];
        let mut z = vec![0.0; k];
        y[0] = 1.0;
        z[1] = 1.0;
        let mut phi = vec![0.0; n];
        let mut m = vec![0.0; k * points];
        let mut x = 1.0;
        for col in 0..points {
            if col > 0 {
                x += -a_x * x * dt;
                basis.forcing_coefficients(x, &mut phi);
                for r in 0..k {
                    let g_r = if r == 2 { 1.0 } else { 0.0 };
                    let f_r = if r >= 3 { phi[r - 3] } else { 0.0 };
                    let dz = a_z * (b_z * (g_r - y[r]) - z[r]) + f_r;
                    y[r] += z[r] * dt;
                    z[r] += dz * dt;
                }
            }
            for r in 0..k {
                m[r * points + col] = y[r];
            }
        }
        ClosedForm { k, points, m }
    }

    /// Keeps only the given columns (e.g. every l-th point for RL actions).
    pub fn select_columns(&self, cols: &[usize]) -> Self {
        let mut m = Vec::with_capacity(self.k * cols.len());
        for r in 0..self.k {
            for &c in cols {
                m.push(self.m[r * self.points + c]);
            }
        }
        ClosedForm {
            k: self.k,
            points: cols.len(),
            m,
        }
    }

    /// Rows of M: N + 3.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of M: the points of a rollout.
    pub fn points(&self) -> usize {
        self.points
    }

    /// M, row-major K x points.
    pub fn matrix(&self) -> &[f64] {
        &self.m
    }

    /// Packs one DoF's parameters into p = [y0, dy0, g, w_i (g - y0)].
    pub fn pack(y0: f64, dy0: f64, g: f64, w: &[f64], out: &mut [f64]) {
        out[0] = y0;
        out[1] = dy0;
        out[2] = g;
        for (o, wi) in out[3..].iter_mut().zip(w) {
            *o = wi * (g - y0);
        }
    }

    /// f64 rollout of one packed parameter row p (length K) into `out` (length points).
    pub fn apply(&self, p: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (r, pr) in p.iter().enumerate() {
            let row = &self.m[r * self.points..(r + 1) * self.points];
            for (o, mv) in out.iter_mut().zip(row) {
                *o += pr * mv;
            }
        }
    }
}
