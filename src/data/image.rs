//! Image pre-processing shared by training and the node: bilinear resize to the model's input
//! size and scaling to [0, 1].

/// Bilinear resize (half-pixel centres, edges clamped) of a single-channel image in [0, 1].
pub fn resize_bilinear(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize, dst: &mut [f32]) {
    let (rx, ry) = (sw as f32 / dw as f32, sh as f32 / dh as f32);
    for oy in 0..dh {
        let fy = ((oy as f32 + 0.5) * ry - 0.5).clamp(0.0, (sh - 1) as f32);
        let y0 = fy.floor() as usize;
        let y1 = (y0 + 1).min(sh - 1);
        let ty = fy - y0 as f32;
        for ox in 0..dw {
            let fx = ((ox as f32 + 0.5) * rx - 0.5).clamp(0.0, (sw - 1) as f32);
            let x0 = fx.floor() as usize;
            let x1 = (x0 + 1).min(sw - 1);
            let tx = fx - x0 as f32;
            let top = src[y0 * sw + x0] * (1.0 - tx) + src[y0 * sw + x1] * tx;
            let bot = src[y1 * sw + x0] * (1.0 - tx) + src[y1 * sw + x1] * tx;
            dst[oy * dw + ox] = top * (1.0 - ty) + bot * ty;
        }
    }
}

/// u8 pixels -> f32 in [0, 1], resized to (dw, dh).
pub fn prepare_u8(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize, dst: &mut [f32]) {
    let f: Vec<f32> = src.iter().map(|&v| v as f32 / 255.0).collect();
    if (sw, sh) == (dw, dh) {
        dst.copy_from_slice(&f);
    } else {
        resize_bilinear(&f, sw, sh, dw, dh, dst);
    }
}
