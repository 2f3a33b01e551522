//! relu(x . w^T + b) as one op on the op threads: the digit model's fully connected layer.
//! candle's matmul runs on one thread here (its rayon pool is off: see ops::threads), so the
//! layer's three products (forward, dX, dW: a tenth of a train step's arithmetic) ran serially
//! while the other core idled; fused, the bias and ReLU also skip candle's five elementwise
//! passes and their gradient buffers.

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::data::{f32_slice, with_f32};
use super::gemm::{sgemm, View};
use super::threads::{split, threads, Out};

const OP: &str = "linear_relu";

/// Rows of the batch per thread below which the products stay on one thread.
const MIN_ROWS: usize = 8;

struct LinearRelu;

/// (batch, in, out) from x (B, K) and w (N, K).
fn dims(x: &[usize], w: &[usize]) -> candle_core::Result<(usize, usize, usize)> {
    match (x, w) {
        (&[b, k], &[n, wk]) if k == wk && n > 0 => Ok((b, k, n)),
        (_, &[0, _]) => candle_core::bail!("{OP}: weight {w:?} has no output features"),
        _ => candle_core::bail!("{OP}: input {x:?} and weight {w:?} must be (B, K) and (N, K)"),
    }
}

/// Thread parts for a batch of `b` rows: each part takes a share of the batch rows (forward,
/// dX) and of the output features (dW).
fn parts(b: usize) -> usize {
    threads().min(b / MIN_ROWS).max(1)
}

impl CustomOp3 for LinearRelu {
    fn name(&self) -> &'static str {
        "linear-relu"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sw: &CpuStorage,
        lw: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, k, n) = dims(lx.dims(), lw.dims())?;
        if lb.dims() != [n] {
            candle_core::bail!("{OP}: bias {:?} must be [{n}]", lb.dims());
        }
        let (x, w, bias) = (
            f32_slice(OP, sx, lx, "input")?,
            f32_slice(OP, sw, lw, "weight")?,
            f32_slice(OP, sb, lb, "bias")?,
        );
        let mut y = vec![0f32; b * n];
        let yo = Out(y.as_mut_ptr());
        let p = parts(b);
        split(p, 1, |lo, hi| {
            let (r0, r1) = (b * lo / p, b * hi / p);
            // SAFETY: parts own disjoint row ranges of y.
            let y = unsafe { yo.part(r0 * n, (r1 - r0) * n) };
            // SAFETY: x rows r0..r1 are (r1-r0) x k, w read transposed is k x n.
            unsafe {
                sgemm(
                    r1 - r0,
                    n,
                    k,
                    y.as_mut_ptr(),
                    n,
                    false,
                    View::rows(x[r0 * k..].as_ptr(), k),
                    View::transposed(w.as_ptr(), k),
                )
            };
            for row in y.chunks_exact_mut(n) {
                for (v, c) in row.iter_mut().zip(bias) {
                    *v = (*v + c).max(0.0);
                }
            }
        });
        Ok((CpuStorage::F32(y), Shape::from((b, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, k, n) = dims(x.dims(), w.dims())?;
        let w = w.contiguous()?;
        // dZ = dY where the output is positive. (candle's relu also passes it where the sum is
        // exactly 0: a measure-zero difference.)
        let dz: Vec<f32> = with_f32(OP, &res.contiguous()?, "output", |y| {
            with_f32(OP, &dy.contiguous()?, "output gradient", |dy| {
                y.iter()
                    .zip(dy)
                    .map(|(y, d)| if *y > 0.0 { *d } else { 0.0 })
                    .collect()
            })
        })??;
        let mut db = vec![0f32; n];
        for row in dz.chunks_exact(n) {
            db.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
        let mut dw = vec![0f32; n * k];
        let mut dx = x.track_op().then(|| vec![0f32; b * k]);
        let (dwo, dxo) = (
            Out(dw.as_mut_ptr()),
            dx.as_mut().map(|d| Out(d.as_mut_ptr())),
        );
        with_f32(OP, x, "input", |xv| {
            with_f32(OP, &w, "weight", |wv| {
                let p = parts(b);
                split(p, 1, |lo, hi| {
                    let (n0, n1) = (n * lo / p, n * hi / p);
                    // SAFETY: parts own disjoint row ranges of dW (and of dX below).
                    let dw = unsafe { dwo.part(n0 * k, (n1 - n0) * k) };
                    // dW rows n0..n1 = dZ^T rows n0..n1 (read transposed) . X.
                    unsafe {
                        sgemm(
                            n1 - n0,
                            k,
                            b,
                            dw.as_mut_ptr(),
                            k,
                            false,
                            View::transposed(dz[n0..].as_ptr(), n),
                            View::rows(xv.as_ptr(), k),
                        )
                    };
                    if let Some(dxo) = dxo {
                        let (r0, r1) = (b * lo / p, b * hi / p);
                        let dx = unsafe { dxo.part(r0 * k, (r1 - r0) * k) };
                        // dX rows r0..r1 = dZ rows r0..r1 . W.
                        unsafe {
                            sgemm(
                                r1 - r0,
                                k,
                                n,
                                dx.as_mut_ptr(),
                                k,
                                false,
                                View::rows(dz[r0 * n..].as_ptr(), n),
                                View::rows(wv.as_ptr(), k),
                            )
                        };
                    }
                });
            })
        })??;
        let dev = x.device();
        Ok((
            dx.map(|d| Tensor::from_vec(d, (b, k), dev)).transpose()?,
            Some(Tensor::from_vec(dw, (n, k), dev)?),
            Some(Tensor::from_vec(db, n, dev)?),
        ))
    }
}

/// relu(x . w^T + b) for x (B, K), w (N, K) and b (N), f32 on the CPU: candle_nn's Linear
/// followed by relu, in one op.
pub fn linear_relu(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, LinearRelu)
}
