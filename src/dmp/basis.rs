//! Basis kernels psi_i(x) over the phase x, with the reference centres and widths.

use serde::{Deserialize, Serialize};

use super::config::DmpConfig;

/// The basis kernels of the paper's ablation. All share the centres c_i; r = x - c_i.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// exp(-h_i r^2), the standard NDP kernel.
    #[default]
    Gaussian,
    /// r itself. It changes sign, so the forcing term normalises by sum |psi_i| (for the other,
    /// positive kernels that is the usual sum psi_i).
    Linear,
    /// sqrt(1 + (eps r)^2)
    Multiquadric,
    /// 1 / (1 + (eps r)^2)
    InverseQuadric,
    /// 1 / sqrt(1 + (eps r)^2)
    InverseMultiquadric,
}

/// Centres, widths and kernel of one DMP's basis.
#[derive(Clone, Debug)]
pub struct Basis {
    pub kernel: Kernel,
    /// c_i = exp(-a_x i / (N - 1)), from 1 down to exp(-a_x).
    pub centres: Vec<f64>,
    /// h_i = N^1.5 / c_i / a_x.
    pub widths: Vec<f64>,
    /// Kernel width eps_i of the non-Gaussian kernels.
    pub eps: Vec<f64>,
}

impl Basis {
    pub fn new(cfg: &DmpConfig) -> Self {
        let n = cfg.n_basis;
        let centres: Vec<f64> = (0..n)
            .map(|i| {
                if n == 1 {
                    1.0
                } else {
                    (-cfg.a_x * i as f64 / (n - 1) as f64).exp()
                }
            })
            .collect();
        let widths: Vec<f64> = centres
            .iter()
            .map(|c| (n as f64).powf(1.5) / c / cfg.a_x)
            .collect();
        let eps = widths
            .iter()
            .map(|h| cfg.epsilon.unwrap_or_else(|| h.sqrt()))
            .collect();
        Basis {
            kernel: cfg.kernel,
            centres,
            widths,
            eps,
        }
    }

    pub fn len(&self) -> usize {
        self.centres.len()
    }

    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// psi_i(x) for one basis function.
    #[inline]
    pub fn psi(&self, i: usize, x: f64) -> f64 {
        let r = x - self.centres[i];
        let q = |r: f64| 1.0 + (self.eps[i] * r) * (self.eps[i] * r);
        match self.kernel {
            Kernel::Gaussian => (-self.widths[i] * r * r).exp(),
            Kernel::Linear => r,
            Kernel::Multiquadric => q(r).sqrt(),
            Kernel::InverseQuadric => 1.0 / q(r),
            Kernel::InverseMultiquadric => 1.0 / q(r).sqrt(),
        }
    }

    /// Writes the forcing coefficients phi_i(x) = psi_i(x) / sum_j |psi_j(x)| * x into `out`,
    /// so that f(x) = sum_i phi_i w_i (g - y0). No allocation.
    #[inline]
    pub fn forcing_coefficients(&self, x: f64, out: &mut [f64]) {
        let mut sum = 0.0;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.psi(i, x);
            sum += o.abs();
        }
        // A Gaussian far from every centre underflows: treat an empty basis as no forcing.
        let scale = if sum > 1e-300 { x / sum } else { 0.0 };
        for o in out.iter_mut() {
            *o *= scale;
        }
    }
}
