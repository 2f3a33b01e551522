//! The closed-form DMP as a candle layer: forward P . M and its own backward dY . M^T, so
//! backprop never computes a gradient for the constant M.

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor, D};

use super::config::DmpConfig;
use super::operator::ClosedForm;
use crate::error::{Error, Result};

/// M in both precisions, shared by the forward op and its transposed backward op.
#[derive(Debug)]
struct Matrices {
    k: usize,
    points: usize,
    m64: Vec<f64>,
    m32: Vec<f32>,
}

/// Multiplies the last dimension by M (K -> points) or, transposed, by M^T (points -> K).
#[derive(Clone, Debug)]
struct OperatorOp {
    mats: Arc<Matrices>,
    transposed: bool,
}

impl OperatorOp {
    fn dims(&self) -> (usize, usize) {
        if self.transposed {
            (self.mats.points, self.mats.k)
        } else {
            (self.mats.k, self.mats.points)
        }
    }
}

/// rows x inner times the operator (inner x cols), all row-major and contiguous.
///
/// # Safety
/// `lhs` holds rows * inner values and `dst` rows * cols; `m` is K x points row-major.
unsafe fn matmul<T: 'static + Copy + Default>(
    lhs: &[T],
    m: &[T],
    dst: &mut [T],
    rows: usize,
    mats: &Matrices,
    transposed: bool,
    one: T,
) {
    let (k, p) = (mats.k, mats.points);
    // M is K x P row-major: element (r, c) at r * P + c. M^T (P x K): (r, c) at c * P + r.
    let (inner, cols, rhs_cs, rhs_rs) = if transposed {
        (p, k, p as isize, 1isize)
    } else {
        (k, p, 1isize, p as isize)
    };
    gemm::gemm(
        rows,
        cols,
        inner,
        dst.as_mut_ptr(),
        1,
        cols as isize,
        false,
        lhs.as_ptr(),
        1,
        inner as isize,
        m.as_ptr(),
        rhs_cs,
        rhs_rs,
        T::default(),
        one,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

impl CustomOp1 for OperatorOp {
    fn name(&self) -> &'static str {
        if self.transposed {
            "dmp-closed-form-transposed"
        } else {
            "dmp-closed-form"
        }
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (inner, cols) = self.dims();
        let dims = layout.shape().dims();
        let last = *dims.last().unwrap_or(&0);
        if last != inner {
            candle_core::bail!(
                "{}: last dimension must be {inner}, got shape {:?}",
                self.name(),
                dims
            );
        }
        let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
            candle_core::Error::Msg(format!("{}: input must be contiguous", self.name()))
        })?;
        let rows = (end - start) / inner.max(1);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap() = cols;
        let out = match storage {
            CpuStorage::F32(v) => {
                let mut dst = vec![0f32; rows * cols];
                // SAFETY: sizes checked above; the operator is K x points.
                unsafe {
                    matmul(
                        &v[start..end],
                        &self.mats.m32,
                        &mut dst,
                        rows,
                        &self.mats,
                        self.transposed,
                        1.0,
                    )
                };
                CpuStorage::F32(dst)
            }
            CpuStorage::F64(v) => {
                let mut dst = vec![0f64; rows * cols];
                // SAFETY: as above.
                unsafe {
                    matmul(
                        &v[start..end],
                        &self.mats.m64,
                        &mut dst,
                        rows,
                        &self.mats,
                        self.transposed,
                        1.0,
                    )
                };
                CpuStorage::F64(dst)
            }
            other => candle_core::bail!("{}: dtype {:?} not supported", self.name(), other.dtype()),
        };
        Ok((out, Shape::from(out_dims)))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let back = OperatorOp {
            mats: self.mats.clone(),
            transposed: !self.transposed,
        };
        Ok(Some(grad_res.contiguous()?.apply_op1_no_bwd(&back)?))
    }
}

/// The DMP layer: (y0, dy0, g, w) for a batch of DoF -> the integrated trajectory.
#[derive(Clone, Debug)]
pub struct DmpLayer {
    op: OperatorOp,
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
        let m64 = op.matrix().to_vec();
        // Entries below f32's normal range (basis terms that have decayed to ~1e-40) are
        // flushed to zero: as f32 denormals they made every product 5x slower (microcode
        // assists) for a contribution far below roundoff.
        let m32 = m64
            .iter()
            .map(|&v| {
                let f = v as f32;
                if f.abs() < f32::MIN_POSITIVE {
                    0.0
                } else {
                    f
                }
            })
            .collect();
        DmpLayer {
            op: OperatorOp {
                mats: Arc::new(Matrices {
                    k: op.k(),
                    points: op.points(),
                    m64,
                    m32,
                }),
                transposed: false,
            },
            n_basis: op.k() - 3,
        }
    }

    pub fn points(&self) -> usize {
        self.op.mats.points
    }

    pub fn n_basis(&self) -> usize {
        self.n_basis
    }

    /// Packs [y0, dy0, g, w (g - y0)] along a new last dimension: (..., D) x3, (..., D, N) ->
    /// (..., D, N + 3). Differentiable in all four.
    pub fn pack(y0: &Tensor, dy0: &Tensor, g: &Tensor, w: &Tensor) -> Result<Tensor> {
        let u = w.broadcast_mul(&(g - y0)?.unsqueeze(D::Minus1)?)?;
        let cols = [y0, dy0, g].map(|t| t.unsqueeze(D::Minus1));
        let [a, b, c] = cols;
        Ok(Tensor::cat(&[&a?, &b?, &c?, &u], D::Minus1)?)
    }

    /// Packed parameters (..., N + 3) -> trajectory (..., points).
    pub fn forward_packed(&self, p: &Tensor) -> Result<Tensor> {
        let p = if p.is_contiguous() {
            p.clone()
        } else {
            p.contiguous()?
        };
        Ok(p.apply_op1(self.op.clone())?)
    }

    /// y0, dy0, g: (B, D); w: (B, D, N) -> trajectory (B, D, points).
    pub fn forward(&self, y0: &Tensor, dy0: &Tensor, g: &Tensor, w: &Tensor) -> Result<Tensor> {
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
        self.forward_packed(&Self::pack(y0, dy0, g, w)?)
    }
}
