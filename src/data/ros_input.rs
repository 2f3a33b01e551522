//! Turning incoming messages into what the policy reads: joint states reordered into
//! controller order, images converted to the model's grayscale input. Each rejection says why.

use crate::data::image::resize_bilinear;
use crate::msgs::{Image, JointState};

/// Positions and velocities in controller order.
#[derive(Clone, Debug, PartialEq)]
pub struct JointSnapshot {
    pub positions: Vec<f64>,
    /// Zeros when the message carried no velocities.
    pub velocities: Vec<f64>,
}

/// Why an input was dropped; the text is what the node logs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    MissingJoint(String),
    NonFinite(String),
    LengthMismatch(String),
    ImageEncoding(String),
    ImageSize(String),
    PolicyOutput(String),
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::MissingJoint(s) => write!(f, "missing joint: {s}"),
            Reject::NonFinite(s) => write!(f, "NaN or Inf: {s}"),
            Reject::LengthMismatch(s) => write!(f, "malformed message: {s}"),
            Reject::ImageEncoding(s) => write!(f, "unsupported image encoding: {s}"),
            Reject::ImageSize(s) => write!(f, "wrong image size: {s}"),
            Reject::PolicyOutput(s) => write!(f, "policy output rejected: {s}"),
        }
    }
}

/// Picks `joints` out of `msg` by name. Velocities are optional (absent: zeros).
pub fn reorder(msg: &JointState, joints: &[String], topic: &str) -> Result<JointSnapshot, Reject> {
    if msg.position.len() != msg.name.len() {
        return Err(Reject::LengthMismatch(format!(
            "{topic}: {} names but {} positions",
            msg.name.len(),
            msg.position.len()
        )));
    }
    let has_vel = !msg.velocity.is_empty();
    if has_vel && msg.velocity.len() != msg.name.len() {
        return Err(Reject::LengthMismatch(format!(
            "{topic}: {} names but {} velocities",
            msg.name.len(),
            msg.velocity.len()
        )));
    }
    let mut snap = JointSnapshot {
        positions: Vec::with_capacity(joints.len()),
        velocities: Vec::with_capacity(joints.len()),
    };
    for j in joints {
        let i = msg
            .name
            .iter()
            .position(|n| n == j)
            .ok_or_else(|| Reject::MissingJoint(format!("`{j}` not in {topic}")))?;
        let (p, v) = (msg.position[i], if has_vel { msg.velocity[i] } else { 0.0 });
        if !p.is_finite() || !v.is_finite() {
            return Err(Reject::NonFinite(format!(
                "{topic}: joint `{j}` position {p} velocity {v}"
            )));
        }
        snap.positions.push(p);
        snap.velocities.push(v);
    }
    Ok(snap)
}

/// rgb8 / bgr8 / mono8 -> grayscale in [0, 1], resized to side x side (bilinear).
/// `expect` is the required (width, height), zeros meaning any.
pub fn image_input(
    msg: &Image,
    side: usize,
    expect: (usize, usize),
    topic: &str,
) -> Result<Vec<f32>, Reject> {
    let (w, h) = (msg.width as usize, msg.height as usize);
    let channels = match msg.encoding.as_str() {
        "mono8" | "8UC1" => 1,
        "rgb8" | "bgr8" => 3,
        e => {
            return Err(Reject::ImageEncoding(format!(
                "{topic}: `{e}` (expected rgb8, bgr8 or mono8)"
            )))
        }
    };
    if (expect.0 != 0 && expect.0 != w) || (expect.1 != 0 && expect.1 != h) || w == 0 || h == 0 {
        return Err(Reject::ImageSize(format!(
            "{topic}: {w}x{h}, expected {}x{} (image_width, image_height)",
            expect.0, expect.1
        )));
    }
    let step = msg.step as usize;
    if step < w * channels || msg.data.len() < step * h {
        return Err(Reject::ImageSize(format!(
            "{topic}: {w}x{h} {} needs step >= {} and {} bytes, got step {step} and {} bytes",
            msg.encoding,
            w * channels,
            step * h,
            msg.data.len()
        )));
    }
    let (ri, bi) = if msg.encoding == "bgr8" {
        (2, 0)
    } else {
        (0, 2)
    };
    let mut gray = vec![0f32; w * h];
    for y in 0..h {
        let row = &msg.data[y * step..y * step + w * channels];
        for x in 0..w {
            gray[y * w + x] = if channels == 1 {
                row[x] as f32 / 255.0
            } else {
                let p = &row[x * 3..x * 3 + 3];
                (0.299 * p[ri] as f32 + 0.587 * p[1] as f32 + 0.114 * p[bi] as f32) / 255.0
            };
        }
    }
    if (w, h) == (side, side) {
        return Ok(gray);
    }
    let mut out = vec![0f32; side * side];
    resize_bilinear(&gray, w, h, side, side, &mut out);
    Ok(out)
}
