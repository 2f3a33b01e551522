//! The DMP stepped one Euler step at a time in f64: the controller loop's integrator.
//! Every buffer is allocated in `new`; `reset` and `step` allocate nothing.

use nalgebra::{DMatrix, DVector};

use super::basis::Basis;
use super::config::DmpConfig;
use crate::error::{Error, Result};

/// One DMP per DoF sharing one phase, integrated in the reference step order.
#[derive(Clone, Debug)]
pub struct DmpStepper {
    basis: Basis,
    a_z: f64,
    b_z: f64,
    a_x: f64,
    dt: f64,
    x: f64,
    y: DVector<f64>,
    z: DVector<f64>,
    g: DVector<f64>,
    /// u_{d,i} = w_{d,i} (g_d - y0_d), so that f = U phi.
    u: DMatrix<f64>,
    phi: DVector<f64>,
    f: DVector<f64>,
    steps: usize,
}

impl DmpStepper {
    /// A stepper for `dof` degrees of freedom, at rest at the origin with w = 0.
    pub fn new(cfg: &DmpConfig, dof: usize) -> Self {
        let n = cfg.n_basis;
        DmpStepper {
            basis: Basis::new(cfg),
            a_z: cfg.a_z,
            b_z: cfg.b_z(),
            a_x: cfg.a_x,
            dt: cfg.dt(),
            x: 1.0,
            y: DVector::zeros(dof),
            z: DVector::zeros(dof),
            g: DVector::zeros(dof),
            u: DMatrix::zeros(dof, n),
            phi: DVector::zeros(n),
            f: DVector::zeros(dof),
            steps: 0,
        }
    }

    pub fn dof(&self) -> usize {
        self.y.len()
    }

    pub fn n_basis(&self) -> usize {
        self.phi.len()
    }

    /// Starts a new rollout from (y0, dy0) towards g with weights w (row-major, DoF x N).
    pub fn reset(&mut self, y0: &[f64], dy0: &[f64], g: &[f64], w: &[f64]) -> Result<()> {
        let (d, n) = (self.dof(), self.n_basis());
        for (name, len, want) in [
            ("y0", y0.len(), d),
            ("dy0", dy0.len(), d),
            ("g", g.len(), d),
            ("w", w.len(), d * n),
        ] {
            if len != want {
                return Err(Error::Shape {
                    what: format!("DMP {name}"),
                    expected: want.to_string(),
                    got: len.to_string(),
                });
            }
        }
        self.x = 1.0;
        self.steps = 0;
        for j in 0..d {
            self.y[j] = y0[j];
            self.z[j] = dy0[j];
            self.g[j] = g[j];
            let scale = g[j] - y0[j];
            for i in 0..n {
                self.u[(j, i)] = w[j * n + i] * scale;
            }
        }
        Ok(())
    }

    /// Moves the goal without restarting the phase (a new policy output mid-rollout).
    pub fn set_goal(&mut self, g: &[f64]) {
        for (gi, v) in self.g.iter_mut().zip(g) {
            *gi = *v;
        }
    }

    /// One Euler step: phase, forcing, acceleration from the current state, position from the
    /// old velocity, then velocity.
    #[inline]
    pub fn step(&mut self) {
        self.x += -self.a_x * self.x * self.dt;
        self.basis
            .forcing_coefficients(self.x, self.phi.as_mut_slice());
        self.f.gemv(1.0, &self.u, &self.phi, 0.0);
        for j in 0..self.y.len() {
            let dz = self.a_z * (self.b_z * (self.g[j] - self.y[j]) - self.z[j]) + self.f[j];
            self.y[j] += self.z[j] * self.dt;
            self.z[j] += dz * self.dt;
        }
        self.steps += 1;
    }

    pub fn position(&self) -> &[f64] {
        self.y.as_slice()
    }

    pub fn velocity(&self) -> &[f64] {
        self.z.as_slice()
    }

    pub fn goal(&self) -> &[f64] {
        self.g.as_slice()
    }

    pub fn phase(&self) -> f64 {
        self.x
    }

    /// Euler steps taken since the last reset.
    pub fn steps_taken(&self) -> usize {
        self.steps
    }

    /// Velocity in DMP time units per step: the DMP runs in its own time, dt per step.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Fills `out` (points x DoF, row-major) with a whole rollout, initial point first.
    pub fn rollout_into(&mut self, out: &mut [f64]) {
        let d = self.dof();
        for (k, row) in out.chunks_exact_mut(d).enumerate() {
            if k > 0 {
                self.step();
            }
            row.copy_from_slice(self.position());
        }
    }
}
