//! The DMP layer's one candle op: packing p = [y0, dy0, g, w (g - y0)] and the closed-form
//! product p . M in a single forward, and in the backward dP = dY . M^T turned straight into
//! the gradients of y0, g and w. Done as separate candle ops (sub, broadcast_mul, cat, matmul,
//! transpose) the same work took five allocating ops and their backward passes, which were
//! most of the layer's time at training sizes.

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Storage, Tensor, WithDType};

/// M in both precisions (K x points, row-major), shared by every op the layer makes.
#[derive(Debug)]
pub(super) struct Matrices {
    pub k: usize,
    pub points: usize,
    pub m64: Vec<f64>,
    pub m32: Vec<f32>,
}

impl Matrices {
    pub fn new(k: usize, points: usize, m64: Vec<f64>) -> Self {
        // Entries below 1e-20 (basis terms that have decayed towards ~1e-40) are flushed to
        // zero: as f32 denormals, or as normals whose products with gradients are denormal,
        // they made the layer twice as slow (microcode assists: 0.24 -> 0.11 ms at B=64,
        // N=30, T=300) for a contribution far below f32 roundoff (the tests compare the f32
        // layer with the f64 oracles at 1e-5).
        let m32 = m64
            .iter()
            .map(|&v| if v.abs() < 1e-20 { 0.0 } else { v as f32 })
            .collect();
        Matrices {
            k,
            points,
            m64,
            m32,
        }
    }
}

/// The two float types the layer runs in, each with its copy of M.
trait Float: WithDType + Default {
    fn m(mats: &Matrices) -> &[Self];
}

impl Float for f32 {
    fn m(mats: &Matrices) -> &[f32] {
        &mats.m32
    }
}

impl Float for f64 {
    fn m(mats: &Matrices) -> &[f64] {
        &mats.m64
    }
}

/// Inputs y0, g (..., D) and w (..., D, N); dy0 (..., D) rides along as a constant (it is an
/// observed velocity wherever the layer is used, so no gradient flows to it).
#[derive(Clone, Debug)]
pub(super) struct FusedDmp {
    pub mats: Arc<Matrices>,
    pub dy0: Tensor,
    /// Output (B, points, D) instead of (..., D, points): the layout losses and actions
    /// want, produced here rather than by a transpose + copy op and its backward.
    pub time_major: bool,
}

/// dst (rows x cols) = lhs (rows x inner, row-major) . rhs, where rhs is M (K x points) or,
/// `transposed`, M^T.
fn product<T: Float>(lhs: &[T], mats: &Matrices, transposed: bool, rows: usize) -> Vec<T> {
    let (k, p) = (mats.k, mats.points);
    let (inner, cols, rhs_cs, rhs_rs) = if transposed {
        (p, k, p as isize, 1isize)
    } else {
        (k, p, 1isize, p as isize)
    };
    let m = T::m(mats);
    debug_assert!(lhs.len() == rows * inner && m.len() == k * p);
    let mut dst = vec![T::zero(); rows * cols];
    // SAFETY: lhs is rows x inner, M is K x points (read transposed or not), dst rows x cols,
    // all row-major, in bounds (checked by the callers' shape checks) and distinct.
    unsafe {
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
            T::zero(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    dst
}

/// Swaps the last two axes of `batches` row-major (a x b) blocks.
fn transpose_blocks<T: Copy + Default>(src: &[T], batches: usize, a: usize, b: usize) -> Vec<T> {
    let mut dst = vec![T::default(); src.len()];
    for (s, d) in src
        .chunks_exact(a * b)
        .zip(dst.chunks_exact_mut(a * b))
        .take(batches)
    {
        for i in 0..a {
            for j in 0..b {
                d[j * a + i] = s[i * b + j];
            }
        }
    }
    dst
}

impl FusedDmp {
    fn n(&self) -> usize {
        self.mats.k - 3
    }

    /// Output shape for y0's shape (..., D).
    fn out_shape(&self, dims: &[usize]) -> Vec<usize> {
        let mut out = dims.to_vec();
        if self.time_major {
            out.insert(out.len() - 1, self.mats.points);
        } else {
            out.push(self.mats.points);
        }
        out
    }

    fn forward<T: Float>(&self, y0: &[T], dy0: &[T], g: &[T], w: &[T], d: usize) -> Vec<T> {
        let (k, n, rows) = (self.mats.k, self.n(), y0.len());
        let mut packed = vec![T::zero(); rows * k];
        for (r, p) in packed.chunks_exact_mut(k).enumerate() {
            p[0] = y0[r];
            p[1] = dy0[r];
            p[2] = g[r];
            let span = g[r] - y0[r];
            for (u, &wi) in p[3..].iter_mut().zip(&w[r * n..(r + 1) * n]) {
                *u = wi * span;
            }
        }
        let y = product(&packed, &self.mats, false, rows);
        if self.time_major {
            transpose_blocks(&y, rows / d.max(1), d, self.mats.points)
        } else {
            y
        }
    }

    /// Gradients of y0, g and w from dY.
    fn backward<T: Float>(
        &self,
        y0: &[T],
        g: &[T],
        w: &[T],
        dy: &[T],
        d: usize,
    ) -> (Vec<T>, Vec<T>, Vec<T>) {
        let (k, n, rows, pts) = (self.mats.k, self.n(), y0.len(), self.mats.points);
        let dp = if self.time_major {
            product(
                &transpose_blocks(dy, rows / d.max(1), pts, d),
                &self.mats,
                true,
                rows,
            )
        } else {
            product(dy, &self.mats, true, rows)
        };
        let (mut dy0, mut dg, mut dw) = (
            vec![T::zero(); rows],
            vec![T::zero(); rows],
            vec![T::zero(); rows * n],
        );
        for (r, p) in dp.chunks_exact(k).enumerate() {
            let (wr, span) = (&w[r * n..(r + 1) * n], g[r] - y0[r]);
            // d/d(g - y0) of sum_i dP_{3+i} w_i (g - y0).
            let mut through_span = T::zero();
            for ((dwi, &wi), &dpi) in dw[r * n..(r + 1) * n].iter_mut().zip(wr).zip(&p[3..]) {
                *dwi = dpi * span;
                through_span += dpi * wi;
            }
            dy0[r] = p[0] - through_span;
            dg[r] = p[2] + through_span;
        }
        (dy0, dg, dw)
    }
}

/// The contiguous values of a CPU tensor as T.
fn values<T: Float, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> candle_core::Result<R> {
    let t = t.contiguous()?;
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(s) = &*s else {
        candle_core::bail!("dmp layer: runs on the CPU only")
    };
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("dmp layer: input must be contiguous".into()))?;
    Ok(f(&T::cpu_storage_as_slice(s)?[a..b]))
}

fn slice<'a, T: Float>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [T]> {
    let (a, b) = l
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("dmp layer: input must be contiguous".into()))?;
    Ok(&T::cpu_storage_as_slice(s)?[a..b])
}

impl FusedDmp {
    fn fwd_typed<T: Float>(
        &self,
        (s1, l1): (&CpuStorage, &Layout),
        (s2, l2): (&CpuStorage, &Layout),
        (s3, l3): (&CpuStorage, &Layout),
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = l1.dims();
        let d = *dims.last().unwrap_or(&1);
        let (y0, g, w) = (
            slice::<T>(s1, l1)?,
            slice::<T>(s2, l2)?,
            slice::<T>(s3, l3)?,
        );
        let y = values::<T, _>(&self.dy0, |dy0| self.forward(y0, dy0, g, w, d))?;
        Ok((
            T::to_cpu_storage_owned(y),
            Shape::from(self.out_shape(dims)),
        ))
    }

    fn bwd_typed<T: Float>(
        &self,
        y0: &Tensor,
        g: &Tensor,
        w: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let d = y0.dims().last().copied().unwrap_or(1);
        let (dy0, dg, dw) = values::<T, _>(y0, |y0v| {
            values::<T, _>(g, |gv| {
                values::<T, _>(w, |wv| {
                    values::<T, _>(dy, |dyv| self.backward(y0v, gv, wv, dyv, d))
                })
            })
        })????;
        let dev = y0.device();
        Ok((
            Tensor::from_vec(dy0, y0.shape(), dev)?,
            Tensor::from_vec(dg, g.shape(), dev)?,
            Tensor::from_vec(dw, w.shape(), dev)?,
        ))
    }
}

impl CustomOp3 for FusedDmp {
    fn name(&self) -> &'static str {
        "dmp-closed-form"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (a, b, c) = ((s1, l1), (s2, l2), (s3, l3));
        match s1 {
            CpuStorage::F32(_) => self.fwd_typed::<f32>(a, b, c),
            CpuStorage::F64(_) => self.fwd_typed::<f64>(a, b, c),
            other => candle_core::bail!("dmp layer: dtype {:?} not supported", other.dtype()),
        }
    }

    fn bwd(
        &self,
        y0: &Tensor,
        g: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (a, b, c) = match y0.dtype() {
            candle_core::DType::F32 => self.bwd_typed::<f32>(y0, g, w, dy)?,
            candle_core::DType::F64 => self.bwd_typed::<f64>(y0, g, w, dy)?,
            other => candle_core::bail!("dmp layer: dtype {other:?} not supported"),
        };
        Ok((Some(a), Some(b), Some(c)))
    }
}
