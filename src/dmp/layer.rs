//! The closed-form DMP as a candle layer: Y = [y0, dy0, g, w (g - y0)] . M in one op with its
//! own backward (dY . M^T, then the packing's chain rule), so backprop never computes a
//! gradient for the constant M nor runs the packing as separate ops.

use std::sync::Arc;

use candle_core::{DType, Tensor, D};

use super::config::DmpConfig;
use super::fused::{FusedDmp, Matrices};
use super::operator::ClosedForm;
use crate::error::{Error, Result};

/// The DMP layer: (y0, dy0, g, w) for a batch of DoF -> the integrated trajectory.
#[derive(Clone, Debug)]
pub struct DmpLayer {
    mats: Arc<Matrices>,
    n_basis: usize,
}

impl DmpLayer {
    /// Every point of the rollout: output length T * l + 1.
    pub fn new(cfg: &DmpConfig) -> Result<Self> {
        cfg.validate("dmp")?;
        Ok(Self::from_operator(&ClosedForm::new(cfg)))
    }

    /// Only the given points of the rollout (e.g. every l-th for RL actions).
    pub fn with_points(cfg: &DmpConfig, points: &[usize]) -> Result<Self> {
        cfg.validate("dmp")?;
        let full = ClosedForm::new(cfg);
        if let Some(&bad) = points.iter().find(|&&p| p >= full.points()) {
            return Err(Error::invalid(
                "dmp.points",
                format!("point {bad} is past the rollout's {} points", full.points()),
            ));
        }
        Ok(Self::from_operator(&full.select_columns(points)))
    }

    fn from_operator(op: &ClosedForm) -> Self {
        DmpLayer {
            mats: Arc::new(Matrices::new(op.k(), op.points(), op.matrix().to_vec())),
            n_basis: op.k() - 3,
        }
    }

    pub fn points(&self) -> usize {
        self.mats.points
    }

    pub fn n_basis(&self) -> usize {
        self.n_basis
    }

    /// y0, dy0, g: (..., D); w: (..., D, N) -> trajectory (..., D, points). Differentiable in
    /// y0, g and w; dy0 is taken as a constant (an observed velocity wherever it is used).
    pub fn forward(&self, y0: &Tensor, dy0: &Tensor, g: &Tensor, w: &Tensor) -> Result<Tensor> {
        self.apply(y0, dy0, g, w, false)
    }

    /// As `forward` for y0, dy0, g: (B, D) and w: (B, D, N), but time-major: (B, points, D),
    /// the layout of demonstrations and actions, without a transpose op.
    pub fn forward_time_major(
        &self,
        y0: &Tensor,
        dy0: &Tensor,
        g: &Tensor,
        w: &Tensor,
    ) -> Result<Tensor> {
        if y0.rank() != 2 {
            return Err(Error::Shape {
                what: "DMP start y0 (time-major rollout)".into(),
                expected: "(B, D)".into(),
                got: format!("{:?}", y0.dims()),
            });
        }
        self.apply(y0, dy0, g, w, true)
    }

    fn apply(
        &self,
        y0: &Tensor,
        dy0: &Tensor,
        g: &Tensor,
        w: &Tensor,
        time_major: bool,
    ) -> Result<Tensor> {
        let n = w.dim(D::Minus1)?;
        if n != self.n_basis {
            return Err(Error::Shape {
                what: "DMP weights w (last dimension)".into(),
                expected: self.n_basis.to_string(),
                got: n.to_string(),
            });
        }
        if !matches!(w.dtype(), DType::F32 | DType::F64) {
            return Err(Error::invalid("w", "DMP layer needs f32 or f64"));
        }
        for (name, t) in [("dy0", dy0), ("g", g)] {
            if t.dims() != y0.dims() {
                return Err(Error::Shape {
                    what: format!("DMP {name} (same shape as y0)"),
                    expected: format!("{:?}", y0.dims()),
                    got: format!("{:?}", t.dims()),
                });
            }
        }
        if w.dims()[..w.rank() - 1] != *y0.dims() {
            return Err(Error::Shape {
                what: "DMP weights w (y0's shape, then N)".into(),
                expected: format!("{:?} + [{n}]", y0.dims()),
                got: format!("{:?}", w.dims()),
            });
        }
        for (name, t) in [("y0", y0), ("dy0", dy0), ("g", g)] {
            if t.dtype() != w.dtype() {
                return Err(Error::invalid(
                    name,
                    format!("dtype {:?} differs from w's {:?}", t.dtype(), w.dtype()),
                ));
            }
        }
        let op = FusedDmp {
            mats: self.mats.clone(),
            dy0: dy0.detach().contiguous()?,
            time_major,
        };
        Ok(y0
            .contiguous()?
            .apply_op3(&g.contiguous()?, &w.contiguous()?, op)?)
    }
}
