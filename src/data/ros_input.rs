//! Turning incoming messages into what the policy reads: joint states reordered into
//! controller order, images converted to the model's grayscale input. Each rejection says why.

use crate::data::image::resize_bilinear;
use crate::msgs::{ImageView, JointState};

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
    /// Bigger than a bound the node sets (joints per message, image bytes).
    TooLarge(String),
    /// Finite, but no robot could be there (far outside the position limits).
    Implausible(String),
    PolicyOutput(String),
}

/// Joint names per JointState beyond which a message is refused unread (a robot has dozens).
pub const MAX_JOINT_STATE_NAMES: usize = 4096;

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::MissingJoint(s) => write!(f, "missing joint: {s}"),
            Reject::NonFinite(s) => write!(f, "NaN or Inf: {s}"),
            Reject::LengthMismatch(s) => write!(f, "malformed message: {s}"),
            Reject::ImageEncoding(s) => write!(f, "unsupported image encoding: {s}"),
            Reject::ImageSize(s) => write!(f, "wrong image size: {s}"),
            Reject::TooLarge(s) => write!(f, "too large: {s}"),
            Reject::Implausible(s) => write!(f, "implausible: {s}"),
            Reject::PolicyOutput(s) => write!(f, "policy output rejected: {s}"),
        }
    }
}

/// Picks `joints` out of `msg` by name. Velocities are optional (absent: zeros).
/// Values must also be finite in f32 (the network's precision): 1e300 is not a joint angle.
pub fn reorder(msg: &JointState, joints: &[String], topic: &str) -> Result<JointSnapshot, Reject> {
    if msg.name.len() > MAX_JOINT_STATE_NAMES {
        return Err(Reject::TooLarge(format!(
            "{topic}: {} joint names (at most {MAX_JOINT_STATE_NAMES})",
            msg.name.len()
        )));
    }
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
        if !(p as f32).is_finite() || !(v as f32).is_finite() {
            return Err(Reject::NonFinite(format!(
                "{topic}: joint `{j}` position {p:e} velocity {v:e} (beyond f32 range)"
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
    msg: &ImageView<'_>,
    side: usize,
    expect: (usize, usize),
    topic: &str,
) -> Result<Vec<f32>, Reject> {
    let channels = check_image(msg, expect, usize::MAX, topic)?;
    Ok(image_pixels(msg, channels, side))
}

/// Checks an image's header against what the node accepts, before any pixel is read: the
/// encoding, the expected size, at most `max_bytes` of data, and step and data length
/// consistent with width and height. Returns the channel count.
pub fn check_image(
    msg: &ImageView<'_>,
    expect: (usize, usize),
    max_bytes: usize,
    topic: &str,
) -> Result<usize, Reject> {
    if msg.data.len() > max_bytes {
        return Err(Reject::TooLarge(format!(
            "{topic}: {}x{} image of {} bytes (image_max_bytes {max_bytes})",
            msg.width,
            msg.height,
            msg.data.len()
        )));
    }
    let (w, h) = (msg.width as usize, msg.height as usize);
    let channels = match msg.encoding {
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
    Ok(channels)
}

/// Grayscale in [0, 1], resized to side x side; `msg` passed `check_image`.
pub fn image_pixels(msg: &ImageView<'_>, channels: usize, side: usize) -> Vec<f32> {
    let (w, h, step) = (msg.width as usize, msg.height as usize, msg.step as usize);
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
        return gray;
    }
    let mut out = vec![0f32; side * side];
    resize_bilinear(&gray, w, h, side, side, &mut out);
    out
}
