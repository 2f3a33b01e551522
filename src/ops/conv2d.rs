//! 2-D convolution (f32, NCHW, bias fused, optionally ReLU + 2x2 max-pool fused too) as one
//! GEMM over an im2col matrix:
//! forward Y = W . cols + b; backward dW = dY . cols^T (cols kept from the forward pass),
//! db = row sums of dY, and dX = col2im(W^T . dY) only when the input needs a gradient (never
//! for the first layer, whose input is the image).

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::data::{f32_slice, with_f32};
use super::gemm::{sgemm, View};
use super::scratch::Scratch;
use super::threads::split;

/// The op's name in errors.
const OP: &str = "conv2d";

/// Stride and zero padding (the same along both axes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub stride: usize,
    pub padding: usize,
}

impl Default for ConvSpec {
    fn default() -> Self {
        ConvSpec {
            stride: 1,
            padding: 0,
        }
    }
}

/// The shapes of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geom {
    b: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    ho: usize,
    wo: usize,
    s: usize,
    p: usize,
}

impl Geom {
    fn new(x: &[usize], w: &[usize], spec: ConvSpec) -> candle_core::Result<Geom> {
        let (&[b, cin, h, wd], &[cout, wcin, kh, kw]) = (x, w) else {
            candle_core::bail!("conv2d: input {x:?} and weight {w:?} must both be 4-D (NCHW, OIHW)")
        };
        if wcin != cin {
            candle_core::bail!("conv2d: input has {cin} channels, weight expects {wcin}");
        }
        if spec.stride == 0 {
            candle_core::bail!("conv2d: stride must be at least 1");
        }
        let (hp, wp) = (h + 2 * spec.padding, wd + 2 * spec.padding);
        if kh == 0 || kw == 0 || hp < kh || wp < kw {
            candle_core::bail!("conv2d: kernel {kh}x{kw} larger than padded input {hp}x{wp}");
        }
        Ok(Geom {
            b,
            cin,
            h,
            w: wd,
            cout,
            kh,
            kw,
            ho: (hp - kh) / spec.stride + 1,
            wo: (wp - kw) / spec.stride + 1,
            s: spec.stride,
            p: spec.padding,
        })
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    fn k(&self) -> usize {
        self.cin * self.kh * self.kw
    }

    fn hw_out(&self) -> usize {
        self.ho * self.wo
    }

    /// Columns of the im2col matrix: one per (sample, output pixel).
    fn ncol(&self) -> usize {
        self.b * self.hw_out()
    }

    /// The output columns `ow` whose input column `ow * s + j - p` lies inside the image.
    fn valid_cols(&self, j: usize) -> (usize, usize) {
        let lo = self.p.saturating_sub(j).div_ceil(self.s).min(self.wo);
        // ow * s + j - p <= w - 1  <=>  ow <= (w - 1 + p - j) / s
        let hi = if self.w + self.p > j {
            ((self.w + self.p - 1 - j) / self.s + 1).min(self.wo)
        } else {
            0
        };
        (lo, hi.max(lo))
    }

    /// Input row of output row `oh` under kernel row `i`, if inside the image.
    fn in_row(&self, oh: usize, i: usize) -> Option<usize> {
        (oh * self.s + i)
            .checked_sub(self.p)
            .filter(|&r| r < self.h)
    }
}

/// cols (K x B*Ho*Wo) from x (B, Cin, H, W), for samples [b0, b1).
fn im2col(g: &Geom, x: &[f32], cols: &mut [f32], b0: usize, b1: usize) {
    let (ncol, hwo) = (g.ncol(), g.hw_out());
    for ci in 0..g.cin {
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = (ci * g.kh + i) * g.kw + j;
                let (lo, hi) = g.valid_cols(j);
                for b in b0..b1 {
                    let plane = &x[(b * g.cin + ci) * g.h * g.w..][..g.h * g.w];
                    let dst = &mut cols[row * ncol + b * hwo..][..hwo];
                    for oh in 0..g.ho {
                        let d = &mut dst[oh * g.wo..(oh + 1) * g.wo];
                        let Some(r) = g.in_row(oh, i) else {
                            d.fill(0.0);
                            continue;
                        };
                        let src = &plane[r * g.w..(r + 1) * g.w];
                        d[..lo].fill(0.0);
                        d[hi..].fill(0.0);
                        if lo == hi {
                            continue;
                        }
                        let first = lo * g.s + j - g.p;
                        if g.s == 1 {
                            copy_short(&mut d[lo..hi], &src[first..first + hi - lo]);
                        } else {
                            for (o, v) in d[lo..hi].iter_mut().zip(src[first..].iter().step_by(g.s))
                            {
                                *o = *v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A copy of the few floats of one image row: in 8-float blocks the compiler inlines, where
/// `copy_from_slice` of a runtime length calls memmove (a call per 8 floats was a third of
/// the im2col time).
#[inline(always)]
fn copy_short(d: &mut [f32], s: &[f32]) {
    let s = &s[..d.len()];
    let mut dc = d.chunks_exact_mut(8);
    let mut sc = s.chunks_exact(8);
    for (o, v) in (&mut dc).zip(&mut sc) {
        let v: &[f32; 8] = v.try_into().expect("8 floats");
        *<&mut [f32; 8]>::try_from(o).expect("8 floats") = *v;
    }
    for (o, v) in dc.into_remainder().iter_mut().zip(sc.remainder()) {
        *o = *v;
    }
}

/// dx (B, Cin, H, W) += col2im(dcols), for samples [b0, b1) (dx holds just those samples).
fn col2im(g: &Geom, dcols: &[f32], dx: &mut [f32], b0: usize, b1: usize) {
    let (ncol, hwo) = (g.ncol(), g.hw_out());
    for b in b0..b1 {
        for ci in 0..g.cin {
            let plane = &mut dx[((b - b0) * g.cin + ci) * g.h * g.w..][..g.h * g.w];
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = (ci * g.kh + i) * g.kw + j;
                    let (lo, hi) = g.valid_cols(j);
                    if lo == hi {
                        continue;
                    }
                    let src = &dcols[row * ncol + b * hwo..][..hwo];
                    for oh in 0..g.ho {
                        let Some(r) = g.in_row(oh, i) else { continue };
                        let s = &src[oh * g.wo + lo..oh * g.wo + hi];
                        let first = lo * g.s + j - g.p;
                        let d = &mut plane[r * g.w..(r + 1) * g.w];
                        if g.s == 1 {
                            for (o, v) in d[first..first + s.len()].iter_mut().zip(s) {
                                *o += *v;
                            }
                        } else {
                            for (o, v) in d[first..].iter_mut().step_by(g.s).zip(s) {
                                *o += *v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Raw pointer for disjoint writes from the scoped threads.
#[derive(Clone, Copy)]
struct Out(*mut f32);
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// The forward op; it keeps its im2col matrix for the backward pass.
struct ConvOp {
    spec: ConvSpec,
    /// Fused ReLU + 2x2 max-pool on the output.
    pool: bool,
    cache: Mutex<Option<Cache>>,
}

/// What the forward pass leaves for the backward pass.
struct Cache {
    cols: Scratch,
    /// With `pool`: per pooled output, the column of Y (Cout x B*HoWo) that won the window,
    /// or `u32::MAX` where ReLU zeroed it.
    winners: Vec<u32>,
}

/// Y (Cout x B*HoWo, without bias) = W . cols, on the op threads.
fn conv_mat(g: &Geom, w: &[f32], cols: &[f32]) -> Scratch {
    let (k, ncol) = (g.k(), g.ncol());
    let mut ymat = Scratch::new(g.cout * ncol);
    // SAFETY: w is cout x k, cols k x ncol, ymat cout x ncol, all row-major and distinct.
    unsafe {
        sgemm(
            g.cout,
            ncol,
            k,
            ymat.as_mut_ptr(),
            ncol,
            false,
            View::rows(w.as_ptr(), k),
            View::rows(cols.as_ptr(), ncol),
        );
    }
    ymat
}

/// relu(max over 2x2 windows of Y + bias) in (B, Cout, Ho/2, Wo/2) order, and the winners;
/// samples split over the op threads.
fn relu_pool(g: &Geom, ymat: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (hp, wp) = (g.ho / 2, g.wo / 2);
    let per = g.cout * hp * wp;
    let (mut y, mut win) = (vec![0f32; g.b * per], vec![u32::MAX; g.b * per]);
    let (yo, wo_) = (Out(y.as_mut_ptr()), Out(win.as_mut_ptr().cast()));
    split(g.b, 4, move |b0, b1| {
        let (yo, wo_) = (yo, wo_);
        // SAFETY: each part writes only its own samples' outputs.
        let (y, win) = unsafe {
            (
                std::slice::from_raw_parts_mut(yo.0.add(b0 * per), (b1 - b0) * per),
                std::slice::from_raw_parts_mut(wo_.0.cast::<u32>().add(b0 * per), (b1 - b0) * per),
            )
        };
        relu_pool_samples(g, ymat, bias, b0, b1, y, win);
    });
    (y, win)
}

/// `relu_pool` for samples [b0, b1) into their slices of the outputs.
fn relu_pool_samples(
    g: &Geom,
    ymat: &[f32],
    bias: &[f32],
    b0: usize,
    b1: usize,
    y: &mut [f32],
    win: &mut [u32],
) {
    let (ncol, hwo, hp, wp, wo) = (g.ncol(), g.hw_out(), g.ho / 2, g.wo / 2, g.wo);
    let planes = y
        .chunks_exact_mut(hp * wp)
        .zip(win.chunks_exact_mut(hp * wp));
    for (bc, (yp, wp_)) in planes.enumerate() {
        let (b, c) = (b0 + bc / g.cout, bc % g.cout);
        debug_assert!(b < b1);
        let base = c * ncol + b * hwo;
        let plane = &ymat[base..base + hwo];
        for r in 0..hp {
            let (top, bottom) = (&plane[2 * r * wo..][..wo], &plane[(2 * r + 1) * wo..][..wo]);
            let (yr, wr) = (&mut yp[r * wp..][..wp], &mut wp_[r * wp..][..wp]);
            for q in 0..wp {
                // Branch-free argmax, the first of equal values winning (a, b, c, d order).
                let (a, bb, cc, d) = (top[2 * q], top[2 * q + 1], bottom[2 * q], bottom[2 * q + 1]);
                let (m1, i1) = if bb > a { (bb, 1) } else { (a, 0) };
                let (m2, i2) = if d > cc { (d, wo + 1) } else { (cc, wo) };
                let (m, i) = if m2 > m1 { (m2, i2) } else { (m1, i1) };
                let v = m + bias[c];
                let at = (b * hwo + 2 * r * wo + 2 * q + i) as u32;
                yr[q] = if v > 0.0 { v } else { 0.0 };
                wr[q] = if v > 0.0 { at } else { u32::MAX };
            }
        }
    }
}

/// The im2col matrix of x, built on the op threads.
fn im2col_all(g: &Geom, x: &[f32]) -> Scratch {
    let n = g.k() * g.ncol();
    let mut cols = Scratch::new(n);
    let out = Out(cols.as_mut_ptr());
    split(g.b, 2, move |b0, b1| {
        let out = out;
        // SAFETY: each part writes only the columns of its own samples.
        let cols = unsafe { std::slice::from_raw_parts_mut(out.0, n) };
        im2col(g, x, cols, b0, b1);
    });
    cols
}

impl CustomOp3 for ConvOp {
    fn name(&self) -> &'static str {
        "im2col-conv2d"
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
        let g = Geom::new(lx.dims(), lw.dims(), self.spec)?;
        if lb.dims() != [g.cout] {
            candle_core::bail!("conv2d: bias {:?} must be [{}]", lb.dims(), g.cout);
        }
        let (x, w, bias) = (
            f32_slice(OP, sx, lx, "input")?,
            f32_slice(OP, sw, lw, "weight")?,
            f32_slice(OP, sb, lb, "bias")?,
        );
        let (ncol, hwo) = (g.ncol(), g.hw_out());
        if self.pool && (g.ho < 2 || g.wo < 2) {
            candle_core::bail!(
                "conv2d+pool: output {}x{} is too small to pool 2x2",
                g.ho,
                g.wo
            );
        }
        let cols = im2col_all(&g, x);
        let ymat = conv_mat(&g, w, &cols);
        if self.pool {
            let (y, winners) = relu_pool(&g, &ymat, bias);
            *self.cache.lock().expect("cache") = Some(Cache { cols, winners });
            let shape = Shape::from((g.b, g.cout, g.ho / 2, g.wo / 2));
            return Ok((CpuStorage::F32(y), shape));
        }
        // (Cout, B*HoWo) -> (B, Cout, Ho, Wo), adding the bias.
        let mut y = vec![0f32; g.b * g.cout * hwo];
        for (bc, dst) in y.chunks_exact_mut(hwo).enumerate() {
            let (b, c) = (bc / g.cout, bc % g.cout);
            let src = &ymat[c * ncol + b * hwo..][..hwo];
            for (o, v) in dst.iter_mut().zip(src) {
                *o = v + bias[c];
            }
        }
        let winners = Vec::new();
        *self.cache.lock().expect("cache") = Some(Cache { cols, winners });
        Ok((CpuStorage::F32(y), Shape::from((g.b, g.cout, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = Geom::new(x.dims(), w.dims(), self.spec)?;
        let (k, ncol, hwo) = (g.k(), g.ncol(), g.hw_out());
        // Taken, so the buffers go back to the pool now; a second backward rebuilds them.
        let cached = self.cache.lock().expect("cache").take();
        let Cache { cols, winners } = match cached {
            Some(c) => c,
            None => with_f32(OP, x, "input", |xv| -> candle_core::Result<Cache> {
                let cols = im2col_all(&g, xv);
                let winners = if self.pool {
                    let bias = with_f32(OP, b, "bias", |bv| bv.to_vec())?;
                    with_f32(OP, w, "weight", |wv| {
                        relu_pool(&g, &conv_mat(&g, wv, &cols), &bias).1
                    })?
                } else {
                    Vec::new()
                };
                Ok(Cache { cols, winners })
            })??,
        };
        // dY as (Cout, B*HoWo), and db = its row sums.
        let mut db = vec![0f32; g.cout];
        let dymat = with_f32(OP, &dy.contiguous()?, "output gradient", |dyv| {
            if self.pool {
                // Only the winners of positive windows get gradient.
                let mut dymat = Scratch::zeroed(g.cout * ncol);
                let per = (g.ho / 2) * (g.wo / 2);
                let planes = winners.chunks_exact(per).zip(dyv.chunks_exact(per));
                for (bc, (wins, ds)) in planes.enumerate() {
                    let c = bc % g.cout;
                    let row = &mut dymat[c * ncol..(c + 1) * ncol];
                    let mut sum = 0.0;
                    for (&win, &d) in wins.iter().zip(ds) {
                        if win != u32::MAX {
                            row[win as usize] = d;
                            sum += d;
                        }
                    }
                    db[c] += sum;
                }
                dymat
            } else {
                let mut dymat = Scratch::new(g.cout * ncol);
                for (bc, src) in dyv.chunks_exact(hwo).enumerate() {
                    let (b, c) = (bc / g.cout, bc % g.cout);
                    dymat[c * ncol + b * hwo..][..hwo].copy_from_slice(src);
                    db[c] += src.iter().sum::<f32>();
                }
                dymat
            }
        })?;
        // dW^T (k x cout) = cols . dY^T: the long ncol axis is contiguous in both operands as
        // gemm packs them (the other orientation, dY . cols^T, packs cols with a stride).
        let mut dwt = Scratch::new(k * g.cout);
        // SAFETY: cols is k x ncol, dymat cout x ncol (read transposed), dwt k x cout.
        unsafe {
            sgemm(
                k,
                g.cout,
                ncol,
                dwt.as_mut_ptr(),
                g.cout,
                false,
                View::rows(cols.as_ptr(), ncol),
                View::transposed(dymat.as_ptr(), ncol),
            );
        }
        let mut dw = vec![0f32; g.cout * k];
        for (r, row) in dwt.chunks_exact(g.cout).enumerate() {
            for (c, v) in row.iter().enumerate() {
                dw[c * k + r] = *v;
            }
        }
        drop(cols);
        let dx = if x.track_op() {
            let mut dcols = Scratch::new(k * ncol);
            // SAFETY: w read transposed is k x cout, dymat cout x ncol, dcols k x ncol.
            with_f32(OP, &w.contiguous()?, "weight", |wv| unsafe {
                sgemm(
                    k,
                    ncol,
                    g.cout,
                    dcols.as_mut_ptr(),
                    ncol,
                    false,
                    View::transposed(wv.as_ptr(), k),
                    View::rows(dymat.as_ptr(), ncol),
                )
            })?;
            let per = g.cin * g.h * g.w;
            let mut dx = vec![0f32; g.b * per];
            let out = Out(dx.as_mut_ptr());
            let dcols = &dcols;
            split(g.b, 2, move |b0, b1| {
                let out = out;
                // SAFETY: each part writes only its own samples' planes.
                let part =
                    unsafe { std::slice::from_raw_parts_mut(out.0.add(b0 * per), (b1 - b0) * per) };
                col2im(&g, dcols, part, b0, b1);
            });
            Some(Tensor::from_vec(dx, x.shape(), x.device())?)
        } else {
            None
        };
        Ok((
            dx,
            Some(Tensor::from_vec(dw, w.shape(), w.device())?),
            Some(Tensor::from_vec(db, g.cout, w.device())?),
        ))
    }
}

/// conv2d(x, w) + b with x (B, Cin, H, W), w (Cout, Cin, kh, kw), b (Cout), f32 on the CPU.
pub fn conv2d(x: &Tensor, w: &Tensor, b: &Tensor, spec: ConvSpec) -> candle_core::Result<Tensor> {
    apply(x, w, b, spec, false)
}

/// max_pool2d(relu(conv2d(x, w) + b), 2) in one op: the full-resolution convolution output
/// never becomes a tensor, so neither it nor its gradient is allocated, copied or summed.
pub fn conv2d_relu_pool2(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    spec: ConvSpec,
) -> candle_core::Result<Tensor> {
    apply(x, w, b, spec, true)
}

fn apply(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    spec: ConvSpec,
    pool: bool,
) -> candle_core::Result<Tensor> {
    let op = ConvOp {
        spec,
        pool,
        cache: Mutex::new(None),
    };
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, op)
}
