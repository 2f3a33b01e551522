//! The digit-writing generator: per class a pen-stroke template, a smooth path through it
//! (centripetal Catmull-Rom) traversed with a minimum-jerk time profile, a random affine per
//! sample, and the 40x40 image rendered from the stroke. Deterministic for a seed.
//!
//! Coordinates are pixels of the 40x40 frame: x to the right, y down, pixel (i, j) covering
//! [i, i+1) x [j, j+1), so a pixel's centre is at (i + 0.5, j + 0.5).

use rand::{Rng, SeedableRng};

use super::templates::{waypoints, CLASSES};

/// Side of the square image in pixels.
pub const IMAGE_SIZE: usize = 40;
/// Points of one demonstrated trajectory (T = 300 intervals).
pub const POINTS: usize = 301;
/// Pen radius in pixels.
const PEN_RADIUS: f64 = 1.3;

/// One demonstration: image (row-major, 0..255), trajectory (POINTS x 2, pixels) and class.
#[derive(Clone, Debug)]
pub struct DigitSample {
    pub image: Vec<u8>,
    pub trajectory: Vec<[f32; 2]>,
    pub label: u8,
}

/// How many samples and from which seed.
#[derive(Clone, Copy, Debug)]
pub struct GenerateSpec {
    pub count: usize,
    pub seed: u64,
}

/// Random affine ranges of ndp-method.md.
const MAX_ROTATION_DEG: f64 = 8.0;
const MAX_TRANSLATION_PX: f64 = 3.0;
const MAX_SCALE: f64 = 0.10;

/// Generates `spec.count` samples; the same seed gives the same samples.
pub fn generate(spec: GenerateSpec) -> Vec<DigitSample> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(spec.seed);
    let paths: Vec<Vec<[f64; 2]>> = (0..CLASSES).map(template_path).collect();
    (0..spec.count)
        .map(|_| {
            let label = rng.random_range(0..CLASSES);
            let angle = rng
                .random_range(-MAX_ROTATION_DEG..=MAX_ROTATION_DEG)
                .to_radians();
            let scale = 1.0 + rng.random_range(-MAX_SCALE..=MAX_SCALE);
            let tx = rng.random_range(-MAX_TRANSLATION_PX..=MAX_TRANSLATION_PX);
            let ty = rng.random_range(-MAX_TRANSLATION_PX..=MAX_TRANSLATION_PX);
            let (s, c) = angle.sin_cos();
            let half = IMAGE_SIZE as f64 / 2.0;
            let place = |p: &[f64; 2]| {
                let (x, y) = (
                    p[0] * IMAGE_SIZE as f64 - half,
                    p[1] * IMAGE_SIZE as f64 - half,
                );
                [
                    half + scale * (c * x - s * y) + tx,
                    half + scale * (s * x + c * y) + ty,
                ]
            };
            let dense: Vec<[f64; 2]> = paths[label].iter().map(place).collect();
            let trajectory = min_jerk_resample(&dense, POINTS);
            DigitSample {
                image: render(&dense),
                trajectory: trajectory
                    .iter()
                    .map(|p| [p[0] as f32, p[1] as f32])
                    .collect(),
                label: label as u8,
            }
        })
        .collect()
}

/// The dense smooth path of a template in unit coordinates.
fn template_path(class: usize) -> Vec<[f64; 2]> {
    let w = waypoints(class);
    let n = w.len();
    let at = |i: isize| -> [f64; 2] {
        if i < 0 {
            // Reflect the end points so the curve leaves them along the first chord.
            [2.0 * w[0][0] - w[1][0], 2.0 * w[0][1] - w[1][1]]
        } else if i as usize >= n {
            [
                2.0 * w[n - 1][0] - w[n - 2][0],
                2.0 * w[n - 1][1] - w[n - 2][1],
            ]
        } else {
            w[i as usize]
        }
    };
    const PER_SEGMENT: usize = 64;
    let mut out = Vec::with_capacity((n - 1) * PER_SEGMENT + 1);
    for seg in 0..n - 1 {
        let p = [
            at(seg as isize - 1),
            at(seg as isize),
            at(seg as isize + 1),
            at(seg as isize + 2),
        ];
        for k in 0..PER_SEGMENT {
            out.push(catmull_rom(&p, k as f64 / PER_SEGMENT as f64));
        }
    }
    out.push(w[n - 1]);
    out
}

/// Centripetal Catmull-Rom between p[1] and p[2] at t in [0, 1].
fn catmull_rom(p: &[[f64; 2]; 4], t: f64) -> [f64; 2] {
    let knot = |a: [f64; 2], b: [f64; 2]| ((b[0] - a[0]).hypot(b[1] - a[1])).sqrt().max(1e-9);
    let t0 = 0.0;
    let t1 = t0 + knot(p[0], p[1]);
    let t2 = t1 + knot(p[1], p[2]);
    let t3 = t2 + knot(p[2], p[3]);
    let u = t1 + t * (t2 - t1);
    let lerp = |a: [f64; 2], b: [f64; 2], ta: f64, tb: f64| {
        let (wa, wb) = ((tb - u) / (tb - ta), (u - ta) / (tb - ta));
        [wa * a[0] + wb * b[0], wa * a[1] + wb * b[1]]
    };
    let a1 = lerp(p[0], p[1], t0, t1);
    let a2 = lerp(p[1], p[2], t1, t2);
    let a3 = lerp(p[2], p[3], t2, t3);
    let b1 = lerp(a1, a2, t0, t2);
    let b2 = lerp(a2, a3, t1, t3);
    lerp(b1, b2, t1, t2)
}

/// Resamples a dense path at arc lengths s(t) L with the minimum-jerk profile
/// s = 10 t^3 - 15 t^4 + 6 t^5: zero velocity and acceleration at both ends.
fn min_jerk_resample(path: &[[f64; 2]], points: usize) -> Vec<[f64; 2]> {
    let mut cum = Vec::with_capacity(path.len());
    let mut total = 0.0;
    cum.push(0.0);
    for w in path.windows(2) {
        total += (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
        cum.push(total);
    }
    let mut seg = 0;
    (0..points)
        .map(|j| {
            let t = j as f64 / (points - 1) as f64;
            let s = (10.0 * t.powi(3) - 15.0 * t.powi(4) + 6.0 * t.powi(5)) * total;
            while seg + 2 < cum.len() && cum[seg + 1] < s {
                seg += 1;
            }
            let len = (cum[seg + 1] - cum[seg]).max(1e-12);
            let a = ((s - cum[seg]) / len).clamp(0.0, 1.0);
            [
                path[seg][0] + a * (path[seg + 1][0] - path[seg][0]),
                path[seg][1] + a * (path[seg + 1][1] - path[seg][1]),
            ]
        })
        .collect()
}

/// Anti-aliased rendering of the stroke: intensity falls from 1 to 0 over one pixel at the
/// pen's edge. Only pixels near each segment are visited.
fn render(path: &[[f64; 2]]) -> Vec<u8> {
    let n = IMAGE_SIZE;
    let mut ink = vec![0f64; n * n];
    let reach = PEN_RADIUS + 1.0;
    for w in path.windows(2) {
        let (a, b) = (w[0], w[1]);
        let lo_x = (a[0].min(b[0]) - reach).floor().max(0.0) as usize;
        let hi_x = ((a[0].max(b[0]) + reach).ceil() as usize).min(n);
        let lo_y = (a[1].min(b[1]) - reach).floor().max(0.0) as usize;
        let hi_y = ((a[1].max(b[1]) + reach).ceil() as usize).min(n);
        for py in lo_y..hi_y {
            for px in lo_x..hi_x {
                let c = [px as f64 + 0.5, py as f64 + 0.5];
                let d = point_segment_distance(c, a, b);
                let v = (PEN_RADIUS + 0.5 - d).clamp(0.0, 1.0);
                let cell = &mut ink[py * n + px];
                *cell = cell.max(v);
            }
        }
    }
    ink.iter().map(|v| (v * 255.0).round() as u8).collect()
}

fn point_segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}
