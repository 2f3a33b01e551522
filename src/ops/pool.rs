//! ReLU then 2x2 max-pool (stride 2, odd edges dropped) in one pass, and its backward:
//! max(relu(x)) = relu(max(x)), and the gradient goes to the window's first maximum when it
//! is positive. One op instead of candle's relu + max_pool2d, whose backward takes six.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::data::{f32_slice, with_f32};

const OP: &str = "relu_max_pool2";

struct ReluMaxPool2;

/// Index in the plane of the first maximum of the window at output (r, c), and its value.
#[inline]
fn window_max(plane: &[f32], w: usize, r: usize, c: usize) -> (usize, f32) {
    let i0 = 2 * r * w + 2 * c;
    let mut best = (i0, plane[i0]);
    for i in [i0 + 1, i0 + w, i0 + w + 1] {
        if plane[i] > best.1 {
            best = (i, plane[i]);
        }
    }
    best
}

/// (planes = B * C, H, W) of a 4-D input.
fn dims4(l: &Layout) -> candle_core::Result<(usize, usize, usize)> {
    match *l.dims() {
        [b, c, h, w] if h >= 2 && w >= 2 => Ok((b * c, h, w)),
        ref d => {
            candle_core::bail!("relu_max_pool2: input must be (B, C, H >= 2, W >= 2), got {d:?}")
        }
    }
}

impl CustomOp1 for ReluMaxPool2 {
    fn name(&self) -> &'static str {
        "relu-max-pool2"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (planes, h, w) = dims4(l)?;
        let x = f32_slice(OP, s, l, "input")?;
        let (ho, wo) = (h / 2, w / 2);
        let mut y = Vec::with_capacity(planes * ho * wo);
        for plane in x.chunks_exact(h * w) {
            for r in 0..ho {
                for c in 0..wo {
                    y.push(window_max(plane, w, r, c).1.max(0.0));
                }
            }
        }
        let d = l.dims();
        Ok((CpuStorage::F32(y), Shape::from((d[0], d[1], ho, wo))))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, dy: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (planes, h, w) = dims4(x.layout())?;
        let (ho, wo) = (h / 2, w / 2);
        let dy = dy.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let mut dx = vec![0f32; planes * h * w];
        with_f32(OP, x, "input", |x_data| {
            for ((plane, dplane), dyp) in x_data
                .chunks_exact(h * w)
                .zip(dx.chunks_exact_mut(h * w))
                .zip(dy.chunks_exact(ho * wo))
            {
                for r in 0..ho {
                    for c in 0..wo {
                        let (i, v) = window_max(plane, w, r, c);
                        if v > 0.0 {
                            dplane[i] = dyp[r * wo + c];
                        }
                    }
                }
            }
        })?;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

/// max_pool2d(relu(x), 2) for x (B, C, H, W), f32 on the CPU.
pub fn relu_max_pool2(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(ReluMaxPool2)
}
