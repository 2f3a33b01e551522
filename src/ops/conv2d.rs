//! 2-D convolution (f32, NCHW, bias fused, optionally ReLU + 2x2 max-pool fused too) as
//! GEMMs over im2col matrices, built chunk by chunk so each stays in cache:
//! forward Y = W . cols + b; backward dW = dY . cols^T (cols rebuilt per chunk), db = row
//! sums of dY, and dX = col2im(W^T . dY) only when the input needs a gradient (never for the
//! first layer, whose input is the image). Chunks are split over the op threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::data::{f32_slice, with_f32};
use super::gemm::{sgemm, View};
use super::scratch::Scratch;
use super::threads::{split, threads, Out};

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
    /// Samples per im2col chunk (read from `CHUNK_FLOATS` once, when the op starts).
    cs: usize,
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
        let (ho, wo) = ((hp - kh) / spec.stride + 1, (wp - kw) / spec.stride + 1);
        // The most samples a chunk may hold; then as many chunks as that needs, rounded up to
        // a multiple of the threads, and samples spread evenly over them (conv1's 64 samples
        // went 36 : 28 over two threads as chunks of 9).
        let most = (CHUNK_FLOATS.load(Ordering::Relaxed) / (cin * kh * kw * ho * wo).max(1))
            .clamp(1, b.max(1));
        let t = threads();
        let chunks = b.div_ceil(most).div_ceil(t) * t;
        let cs = b.div_ceil(chunks.min(b).max(1)).max(1);
        Ok(Geom {
            b,
            cin,
            h,
            w: wd,
            cout,
            kh,
            kw,
            ho,
            wo,
            s: spec.stride,
            p: spec.padding,
            cs,
        })
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    fn k(&self) -> usize {
        self.cin * self.kh * self.kw
    }

    fn hw_out(&self) -> usize {
        self.ho * self.wo
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

/// cols (K x (b1 - b0)*Ho*Wo) from samples [b0, b1) of x (B, Cin, H, W).
fn im2col(g: &Geom, x: &[f32], cols: &mut [f32], b0: usize, b1: usize) {
    let hwo = g.hw_out();
    let ncol = (b1 - b0) * hwo;
    if g.s == 1 && g.p == 0 {
        // Valid convolution (the digit model's): every window is inside the image, so each
        // output row is one contiguous run of the input row; sample-major so the input plane
        // stays in L1 while its 25 shifted copies are written.
        let hw = g.h * g.w;
        for b in b0..b1 {
            for ci in 0..g.cin {
                let plane = &x[(b * g.cin + ci) * hw..][..hw];
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        let row = (ci * g.kh + i) * g.kw + j;
                        let dst = &mut cols[row * ncol + (b - b0) * hwo..][..hwo];
                        let src = &plane[i * g.w + j..];
                        match g.wo {
                            8 => window_rows::<8>(src, dst, g.w),
                            24 => window_rows::<24>(src, dst, g.w),
                            _ => {
                                for (oh, d) in dst.chunks_exact_mut(g.wo).enumerate() {
                                    copy_short(d, &src[oh * g.w..]);
                                }
                            }
                        }
                    }
                }
            }
        }
        return;
    }
    for ci in 0..g.cin {
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = (ci * g.kh + i) * g.kw + j;
                let (lo, hi) = g.valid_cols(j);
                for b in b0..b1 {
                    let plane = &x[(b * g.cin + ci) * g.h * g.w..][..g.h * g.w];
                    let dst = &mut cols[row * ncol + (b - b0) * hwo..][..hwo];
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

/// dst (rows of WO floats) = the rows of WO floats starting every `w` floats of src: one
/// window position's rows, for the output widths of the digit model (8 and 24) as fixed-size
/// copies the compiler turns into a few vector moves (the generic loop's bounds checks and
/// calls were most of im2col's time).
#[inline(always)]
fn window_rows<const WO: usize>(src: &[f32], dst: &mut [f32], w: usize) {
    let rows = dst.len() / WO;
    if rows == 0 {
        return;
    }
    assert!((rows - 1) * w + WO <= src.len() && rows * WO <= dst.len());
    for oh in 0..rows {
        // SAFETY: in bounds by the assert above; [f32; WO] has f32's alignment.
        unsafe {
            let v = src
                .as_ptr()
                .add(oh * w)
                .cast::<[f32; WO]>()
                .read_unaligned();
            dst.as_mut_ptr()
                .add(oh * WO)
                .cast::<[f32; WO]>()
                .write_unaligned(v);
        }
    }
}

/// The adjoint of `window_rows`: dst rows (every `w` floats) += src rows of WO floats.
#[inline(always)]
fn add_window_rows<const WO: usize>(src: &[f32], dst: &mut [f32], w: usize) {
    let rows = src.len() / WO;
    if rows == 0 {
        return;
    }
    assert!((rows - 1) * w + WO <= dst.len());
    for (oh, s) in src.chunks_exact(WO).enumerate() {
        let s: &[f32; WO] = s.try_into().expect("WO floats");
        let d: &mut [f32; WO] = (&mut dst[oh * w..oh * w + WO])
            .try_into()
            .expect("WO floats");
        for (o, v) in d.iter_mut().zip(s) {
            *o += *v;
        }
    }
}

/// dx += col2im(dcols) for samples [b0, b1): dcols is K x (b1 - b0)*Ho*Wo and dx holds just
/// those samples (b1 - b0, Cin, H, W).
fn col2im(g: &Geom, dcols: &[f32], dx: &mut [f32], b0: usize, b1: usize) {
    let hwo = g.hw_out();
    let ncol = (b1 - b0) * hwo;
    for b in b0..b1 {
        for ci in 0..g.cin {
            let plane = &mut dx[((b - b0) * g.cin + ci) * g.h * g.w..][..g.h * g.w];
            if g.s == 1 && g.p == 0 {
                // Valid convolution: each output row adds onto one contiguous input run.
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        let row = (ci * g.kh + i) * g.kw + j;
                        let src = &dcols[row * ncol + (b - b0) * hwo..][..hwo];
                        let dst = &mut plane[i * g.w + j..];
                        match g.wo {
                            8 => add_window_rows::<8>(src, dst, g.w),
                            24 => add_window_rows::<24>(src, dst, g.w),
                            _ => {
                                for (oh, s) in src.chunks_exact(g.wo).enumerate() {
                                    for (o, v) in dst[oh * g.w..][..g.wo].iter_mut().zip(s) {
                                        *o += *v;
                                    }
                                }
                            }
                        }
                    }
                }
                continue;
            }
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = (ci * g.kh + i) * g.kw + j;
                    let (lo, hi) = g.valid_cols(j);
                    if lo == hi {
                        continue;
                    }
                    let src = &dcols[row * ncol + (b - b0) * hwo..][..hwo];
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

/// Floats of im2col matrix per chunk: each chunk's matrix (and its gradient) is built, used
/// and dropped while it is still in the core's L2 cache (2 MB here), instead of one B-sample
/// matrix written to and read back from memory four times per train step. 128 K floats
/// (512 KB: 4 samples of conv2, 9 of conv1) measured 10 % faster than 256 K and no slower than
/// 96 K on the digit train step.
static CHUNK_FLOATS: AtomicUsize = AtomicUsize::new(128 * 1024);

/// Sets the im2col chunk budget in floats (tests use tiny ones to cover many chunks).
#[doc(hidden)]
pub fn set_chunk_floats(n: usize) {
    CHUNK_FLOATS.store(n.max(1), Ordering::Relaxed);
}

impl Geom {
    /// Samples per chunk, fixed when the op starts (`cs`): every thread must split alike.
    fn chunk(&self) -> usize {
        self.cs
    }

    fn chunks(&self) -> usize {
        self.b.div_ceil(self.chunk())
    }

    /// Samples [b0, b1) of chunk `c`.
    fn chunk_range(&self, c: usize) -> (usize, usize) {
        let cs = self.chunk();
        (c * cs, ((c + 1) * cs).min(self.b))
    }

    /// Output values per sample: pooled or not.
    fn out_per(&self, pool: bool) -> usize {
        if pool {
            self.cout * (self.ho / 2) * (self.wo / 2)
        } else {
            self.cout * self.hw_out()
        }
    }
}

/// The forward op; it keeps the pooling winners for the backward pass (the im2col matrices
/// are rebuilt there, chunk by chunk, which costs less than keeping them in memory).
struct ConvOp {
    spec: ConvSpec,
    /// Fused ReLU + 2x2 max-pool on the output.
    pool: bool,
    /// With `pool`: per pooled output, which of its window's four values won (0..4 in
    /// row-major order), or `NO_WINNER` where ReLU zeroed it.
    winners: Mutex<Option<Vec<u8>>>,
}

/// Marks a pooled output that ReLU zeroed: no gradient flows back through it.
const NO_WINNER: u8 = u8::MAX;

/// relu(max over 2x2 windows of Y + bias) for a chunk of samples, whose Y (Cout x
/// samples*Ho*Wo) is `ymat`, into their slices of the outputs (.., Cout, Ho/2, Wo/2).
fn relu_pool_samples(g: &Geom, ymat: &[f32], bias: &[f32], y: &mut [f32], win: &mut [u8]) {
    let (hwo, hp, wp, wo) = (g.hw_out(), g.ho / 2, g.wo / 2, g.wo);
    let ncol = ymat.len() / g.cout;
    let planes = y
        .chunks_exact_mut(hp * wp)
        .zip(win.chunks_exact_mut(hp * wp));
    for (bc, (yp, wp_)) in planes.enumerate() {
        let (lb, c) = (bc / g.cout, bc % g.cout);
        let base = c * ncol + lb * hwo;
        let plane = &ymat[base..base + hwo];
        for r in 0..hp {
            let (top, bottom) = (
                &plane[2 * r * wo..][..2 * wp],
                &plane[(2 * r + 1) * wo..][..2 * wp],
            );
            let (yr, wr) = (&mut yp[r * wp..][..wp], &mut wp_[r * wp..][..wp]);
            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            for ((y, win), (t, u)) in yr.iter_mut().zip(wr.iter_mut()).zip(windows) {
                // Branch-free argmax, the first of equal values winning (a, b, c, d order).
                let (m1, i1) = if t[1] > t[0] { (t[1], 1) } else { (t[0], 0) };
                let (m2, i2) = if u[1] > u[0] { (u[1], 3) } else { (u[0], 2) };
                let (m, i) = if m2 > m1 { (m2, i2) } else { (m1, i1) };
                let v = m + bias[c];
                *y = if v > 0.0 { v } else { 0.0 };
                *win = if v > 0.0 { i } else { NO_WINNER };
            }
        }
    }
}

/// Y + bias for samples [b0, b1) (Y as `relu_pool_samples` gets it) into (.., Cout, Ho, Wo).
fn add_bias_samples(g: &Geom, ymat: &[f32], bias: &[f32], y: &mut [f32]) {
    let hwo = g.hw_out();
    let ncol = ymat.len() / g.cout;
    for (bc, dst) in y.chunks_exact_mut(hwo).enumerate() {
        let (lb, c) = (bc / g.cout, bc % g.cout);
        let src = &ymat[c * ncol + lb * hwo..][..hwo];
        for (o, v) in dst.iter_mut().zip(src) {
            *o = v + bias[c];
        }
    }
}

/// The whole forward pass, chunk by chunk on the op threads: y and (with `pool`) the winners.
fn forward(g: &Geom, x: &[f32], w: &[f32], bias: &[f32], pool: bool) -> (Vec<f32>, Vec<u8>) {
    let (k, hwo, per) = (g.k(), g.hw_out(), g.out_per(pool));
    let mut y = vec![0f32; g.b * per];
    let mut win = if pool {
        vec![NO_WINNER; g.b * per]
    } else {
        Vec::new()
    };
    let (yo, wo_) = (Out(y.as_mut_ptr()), Out(win.as_mut_ptr()));
    split(g.chunks(), 1, move |c0, c1| {
        let (yo, wo_) = (yo, wo_);
        let most = g.chunk() * hwo;
        let (mut cols, mut ymat) = (Scratch::new(k * most), Scratch::new(g.cout * most));
        for c in c0..c1 {
            let (b0, b1) = g.chunk_range(c);
            let ncol = (b1 - b0) * hwo;
            let (cols, ymat) = (&mut cols[..k * ncol], &mut ymat[..g.cout * ncol]);
            im2col(g, x, cols, b0, b1);
            // SAFETY: w is cout x k, cols k x ncol, ymat cout x ncol, row-major and distinct.
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
                )
            };
            // SAFETY: chunks are disjoint sample ranges, so their outputs are too.
            let y = unsafe { yo.part(b0 * per, (b1 - b0) * per) };
            if pool {
                let win = unsafe { wo_.part(b0 * per, (b1 - b0) * per) };
                relu_pool_samples(g, ymat, bias, y, win);
            } else {
                add_bias_samples(g, ymat, bias, y);
            }
        }
    });
    (y, win)
}

/// What one thread's chunks add to the weight and bias gradients.
struct Partial {
    /// dW^T, k x cout.
    dwt: Vec<f32>,
    db: Vec<f32>,
}

/// The backward pass, chunk by chunk on the op threads: dW and db, and dX into `dx` when given.
fn backward(
    g: &Geom,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    winners: Option<&[u8]>,
    dx: Option<&mut [f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let (k, hwo, cout) = (g.k(), g.hw_out(), g.cout);
    let per = g.out_per(winners.is_some());
    let per_x = g.cin * g.h * g.w;
    let dxo = dx.map(|d| Out(d.as_mut_ptr()));
    let partials = Mutex::new(Vec::new());
    split(g.chunks(), 1, |c0, c1| {
        let most = g.chunk() * hwo;
        let mut part = Partial {
            dwt: vec![0f32; k * cout],
            db: vec![0f32; cout],
        };
        let (mut cols, mut dymat) = (Scratch::new(k * most), Scratch::new(cout * most));
        let mut dcols = dxo.map(|_| Scratch::new(k * most));
        for c in c0..c1 {
            let (b0, b1) = g.chunk_range(c);
            let ncol = (b1 - b0) * hwo;
            let (cols, dymat) = (&mut cols[..k * ncol], &mut dymat[..cout * ncol]);
            let dys = &dy[b0 * per..b1 * per];
            // dY as (Cout, ncol); db gets its row sums.
            match winners {
                Some(winners) => {
                    // Only the winners of positive windows get gradient.
                    dymat.fill(0.0);
                    let (hp, wp, wo) = (g.ho / 2, g.wo / 2, g.wo);
                    let offset = [0, 1, wo, wo + 1];
                    let wins = &winners[b0 * per..b1 * per];
                    let planes = wins.chunks_exact(hp * wp).zip(dys.chunks_exact(hp * wp));
                    for (bc, (wins, ds)) in planes.enumerate() {
                        let (lb, ch) = (bc / cout, bc % cout);
                        let plane = &mut dymat[ch * ncol + lb * hwo..][..hwo];
                        let mut sum = 0.0;
                        for (r, (wins, ds)) in
                            wins.chunks_exact(wp).zip(ds.chunks_exact(wp)).enumerate()
                        {
                            for (q, (&win, &d)) in wins.iter().zip(ds).enumerate() {
                                if win != NO_WINNER {
                                    plane[2 * r * wo + 2 * q + offset[win as usize & 3]] = d;
                                    sum += d;
                                }
                            }
                        }
                        part.db[ch] += sum;
                    }
                }
                None => {
                    for (bc, src) in dys.chunks_exact(hwo).enumerate() {
                        let (lb, ch) = (bc / cout, bc % cout);
                        dymat[ch * ncol + lb * hwo..][..hwo].copy_from_slice(src);
                        part.db[ch] += src.iter().sum::<f32>();
                    }
                }
            }
            im2col(g, x, cols, b0, b1);
            // dW^T (k x cout) += cols . dY^T: the long ncol axis is contiguous in both operands
            // as gemm packs them (the other orientation packs cols with a stride).
            // SAFETY: cols is k x ncol, dymat cout x ncol (read transposed), dwt k x cout.
            unsafe {
                sgemm(
                    k,
                    cout,
                    ncol,
                    part.dwt.as_mut_ptr(),
                    cout,
                    true,
                    View::rows(cols.as_ptr(), ncol),
                    View::transposed(dymat.as_ptr(), ncol),
                )
            };
            if let (Some(dxo), Some(dcols)) = (dxo, dcols.as_mut()) {
                let dcols = &mut dcols[..k * ncol];
                // SAFETY: w read transposed is k x cout, dymat cout x ncol, dcols k x ncol.
                unsafe {
                    sgemm(
                        k,
                        ncol,
                        cout,
                        dcols.as_mut_ptr(),
                        ncol,
                        false,
                        View::transposed(w.as_ptr(), k),
                        View::rows(dymat.as_ptr(), ncol),
                    )
                };
                // SAFETY: chunks are disjoint sample ranges of dx.
                let dx = unsafe { dxo.part(b0 * per_x, (b1 - b0) * per_x) };
                col2im(g, dcols, dx, b0, b1);
            }
        }
        partials.lock().expect("partials").push((c0, part));
    });
    // Summed in chunk order, not finishing order: the same gradients on every run.
    let mut parts = partials.into_inner().expect("partials");
    parts.sort_by_key(|p| p.0);
    let mut parts = parts.into_iter().map(|p| p.1);
    let mut total = parts.next().unwrap_or(Partial {
        dwt: vec![0f32; k * cout],
        db: vec![0f32; cout],
    });
    for p in parts {
        total.dwt.iter_mut().zip(&p.dwt).for_each(|(a, b)| *a += b);
        total.db.iter_mut().zip(&p.db).for_each(|(a, b)| *a += b);
    }
    let mut dw = vec![0f32; cout * k];
    for (r, row) in total.dwt.chunks_exact(cout).enumerate() {
        for (c, v) in row.iter().enumerate() {
            dw[c * k + r] = *v;
        }
    }
    (dw, total.db)
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
        if self.pool && (g.ho < 2 || g.wo < 2) {
            candle_core::bail!(
                "conv2d+pool: output {}x{} is too small to pool 2x2",
                g.ho,
                g.wo
            );
        }
        let (y, winners) = forward(&g, x, w, bias, self.pool);
        let shape = if self.pool {
            *self.winners.lock().expect("winners") = Some(winners);
            Shape::from((g.b, g.cout, g.ho / 2, g.wo / 2))
        } else {
            Shape::from((g.b, g.cout, g.ho, g.wo))
        };
        Ok((CpuStorage::F32(y), shape))
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
        let w = w.contiguous()?;
        let (dx, dw, db) = with_f32(OP, x, "input", |xv| {
            with_f32(OP, &w, "weight", |wv| {
                with_f32(OP, &dy.contiguous()?, "output gradient", |dyv| {
                    // Taken, so the memory goes now; a second backward recomputes them.
                    let cached = self.winners.lock().expect("winners").take();
                    let winners = match (self.pool, cached) {
                        (false, _) => None,
                        (true, Some(v)) => Some(v),
                        (true, None) => Some(with_f32(OP, b, "bias", |bv| {
                            forward(&g, xv, wv, bv, true).1
                        })?),
                    };
                    let mut dx = x.track_op().then(|| vec![0f32; g.b * g.cin * g.h * g.w]);
                    let (dw, db) = backward(&g, xv, wv, dyv, winners.as_deref(), dx.as_deref_mut());
                    Ok::<_, candle_core::Error>((dx, dw, db))
                })?
            })?
        })??;
        let dx = dx
            .map(|d| Tensor::from_vec(d, x.shape(), x.device()))
            .transpose()?;
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
        winners: Mutex::new(None),
    };
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, op)
}
