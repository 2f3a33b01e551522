//! The built-in tasks' shared parts: a point hand moved by 4-D actions as Meta-World's mocap
//! moves the Sawyer hand (1 cm per unit action and step), the 39-value observation layout of
//! Meta-World v3, and its `tolerance` reward shaping.

use rand::rngs::StdRng;
use rand::Rng;

/// Metres the hand moves per unit action and step (Meta-World's `action_scale`, 1/100).
pub const ACTION_SCALE: f64 = 0.01;
/// Meta-World's hand bounds (m), with the table top as the lowest z.
pub const HAND_LOW: [f64; 3] = [-0.525, 0.348, 0.0];
pub const HAND_HIGH: [f64; 3] = [0.525, 1.025, 0.7];
/// Meta-World's initial hand position for reach and push.
pub const HAND_INIT: [f64; 3] = [0.0, 0.6, 0.2];
pub const OBS_DIM: usize = 39;
pub const ACT_DIM: usize = 4;

pub type V3 = [f64; 3];

/// Moves `hand` by the clipped action, inside the bounds. A NaN action component moves nothing.
pub fn move_hand(hand: &mut V3, action: &[f64]) {
    for i in 0..3 {
        let a = action.get(i).copied().unwrap_or(0.0);
        let a = if a.is_nan() { 0.0 } else { a.clamp(-1.0, 1.0) };
        hand[i] = (hand[i] + a * ACTION_SCALE).clamp(HAND_LOW[i], HAND_HIGH[i]);
    }
}

/// The 18 values of one frame: hand (3), gripper opening (1), object 1 pos (3) and quaternion
/// (4), object 2 pos (3) and quaternion (4), zero where a task has no such object.
pub fn frame(hand: &V3, object: Option<&V3>) -> [f64; 18] {
    let mut f = [0.0; 18];
    f[..3].copy_from_slice(hand);
    f[3] = 1.0; // gripper open: the built-in tasks do not grasp
    if let Some(o) = object {
        f[4..7].copy_from_slice(o);
        f[7] = 1.0; // identity quaternion (w, x, y, z)
    }
    f
}

/// Current frame, previous frame, goal: Meta-World v3's observation.
pub fn observation(now: &[f64; 18], prev: &[f64; 18], goal: &V3) -> Vec<f64> {
    let mut o = Vec::with_capacity(OBS_DIM);
    o.extend_from_slice(now);
    o.extend_from_slice(prev);
    o.extend_from_slice(goal);
    o
}

pub fn dist(a: &V3, b: &V3) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

pub fn dist_xy(a: &V3, b: &V3) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Meta-World's `tolerance(x, bounds=(0, bound), margin, sigmoid="long_tail")`: 1 inside the
/// bound, falling to 0.1 at `margin` beyond it, with a long tail.
pub fn tolerance(x: f64, bound: f64, margin: f64) -> f64 {
    if x <= bound {
        return 1.0;
    }
    if margin <= 0.0 {
        return 0.0;
    }
    // 1 / ((d * s)^2 + 1) with s chosen so that the value is 0.1 at d = 1.
    let s = (1.0f64 / 0.1 - 1.0).sqrt();
    let d = (x - bound) / margin;
    1.0 / ((d * s).powi(2) + 1.0)
}

/// A point drawn uniformly in the box [lo, hi].
pub fn uniform(rng: &mut StdRng, lo: &V3, hi: &V3) -> V3 {
    std::array::from_fn(|i| rng.random_range(lo[i]..=hi[i]))
}

/// The action that moves the hand straight toward `target` at full speed (scaled, not clipped
/// per axis, so the direction is kept).
pub fn toward(hand: &V3, target: &V3) -> Vec<f64> {
    let mut a: Vec<f64> = (0..3)
        .map(|i| (target[i] - hand[i]) / ACTION_SCALE)
        .collect();
    let peak = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter_mut().for_each(|v| *v /= peak);
    a.push(-1.0); // gripper: open
    a
}

/// The action a built-in task keeps between `send_step` and `recv_step` (they compute in
/// `recv_step`, so a vector of them behaves like one of bridges).
#[derive(Default)]
pub struct Pending(Option<Vec<f64>>);

impl Pending {
    /// Stores `action`, which must have ACT_DIM values.
    pub fn put(&mut self, task: &str, action: &[f64]) -> crate::Result<()> {
        if action.len() != ACT_DIM {
            return Err(crate::Error::Shape {
                what: format!("{task} action"),
                expected: ACT_DIM.to_string(),
                got: action.len().to_string(),
            });
        }
        self.0 = Some(action.to_vec());
        Ok(())
    }

    pub fn take(&mut self, task: &str) -> crate::Result<Vec<f64>> {
        self.0
            .take()
            .ok_or_else(|| crate::Error::invalid(task, "recv_step without send_step"))
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }
}
