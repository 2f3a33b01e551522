//! DMP constants (a_z, b_z, a_x, N, T, sub-steps l, kernel) as read from YAML.

use serde::{Deserialize, Serialize};

use super::basis::Kernel;
use crate::error::{Error, Result};

/// The DMP's settings. Defaults are the reference's: a_x = 1, a_z = 25, b_z = a_z / 4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmpConfig {
    /// Number of basis functions per DoF (N).
    pub n_basis: usize,
    /// Spring constant a_z (alpha in the paper).
    #[serde(default = "default_a_z")]
    pub a_z: f64,
    /// Damping b_z; absent means critically damped, a_z / 4.
    #[serde(default)]
    pub b_z: Option<f64>,
    /// Phase decay a_x.
    #[serde(default = "default_a_x")]
    pub a_x: f64,
    /// T: integration intervals per unit of DMP time (before sub-steps).
    pub t: usize,
    /// l: Euler sub-steps per interval; dt = 1 / (T * l).
    #[serde(default = "default_substeps")]
    pub substeps: usize,
    #[serde(default)]
    pub kernel: Kernel,
    /// Width epsilon of the non-Gaussian kernels; absent means sqrt(h_i) per basis.
    #[serde(default)]
    pub epsilon: Option<f64>,
}

/// Bounds on the sizes a config may ask for (far above any DMP in use: the paper's N is 5-30,
/// T a few hundred).
pub const MAX_N_BASIS: usize = 1000;
pub const MAX_T: usize = 100_000;
pub const MAX_SUBSTEPS: usize = 1000;
pub const MAX_STEPS: usize = 1_000_000;

fn default_a_z() -> f64 {
    25.0
}
fn default_a_x() -> f64 {
    1.0
}
fn default_substeps() -> usize {
    1
}

impl DmpConfig {
    /// The reference settings with N basis functions and T intervals.
    pub fn new(n_basis: usize, t: usize) -> Self {
        DmpConfig {
            n_basis,
            a_z: default_a_z(),
            b_z: None,
            a_x: default_a_x(),
            t,
            substeps: 1,
            kernel: Kernel::Gaussian,
            epsilon: None,
        }
    }

    pub fn b_z(&self) -> f64 {
        self.b_z.unwrap_or(self.a_z / 4.0)
    }

    /// Euler step in DMP time.
    pub fn dt(&self) -> f64 {
        1.0 / (self.t * self.substeps) as f64
    }

    /// Points of one rollout, the initial point included: T * l + 1.
    pub fn points(&self) -> usize {
        self.t * self.substeps + 1
    }

    /// Checks every constant; the error names the key (prefixed by `at`, e.g. "dmp").
    pub fn validate(&self, at: &str) -> Result<()> {
        let key = |k: &str| format!("{at}.{k}");
        // Upper bounds before anything is allocated from these sizes: a typo such as
        // n_basis: 1e9 must be an error, not gigabytes.
        for (k, v, hi) in [
            ("n_basis", self.n_basis, MAX_N_BASIS),
            ("t", self.t, MAX_T),
            ("substeps", self.substeps, MAX_SUBSTEPS),
        ] {
            if v > hi {
                return Err(Error::invalid(
                    key(k),
                    format!("{v} is above the bound {hi}"),
                ));
            }
        }
        if self.t * self.substeps > MAX_STEPS {
            return Err(Error::invalid(
                key("t"),
                format!(
                    "t * substeps = {} Euler steps per rollout, above the bound {MAX_STEPS}",
                    self.t * self.substeps
                ),
            ));
        }
        if self.n_basis == 0 {
            return Err(Error::invalid(key("n_basis"), "must be at least 1"));
        }
        if self.t == 0 {
            return Err(Error::invalid(key("t"), "must be at least 1"));
        }
        if self.substeps == 0 {
            return Err(Error::invalid(key("substeps"), "must be at least 1"));
        }
        for (k, v) in [("a_z", self.a_z), ("a_x", self.a_x), ("b_z", self.b_z())] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    key(k),
                    format!("must be finite and > 0, got {v}"),
                ));
            }
        }
        if let Some(e) = self.epsilon {
            if !(e.is_finite() && e > 0.0) {
                return Err(Error::invalid(
                    key("epsilon"),
                    format!("must be finite and > 0, got {e}"),
                ));
            }
        }
        if self.a_x * self.dt() >= 1.0 {
            return Err(Error::invalid(
                key("t"),
                "a_x * dt must be < 1 for a decaying phase: raise t or substeps",
            ));
        }
        Ok(())
    }
}
