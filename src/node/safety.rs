//! Limits and bookkeeping that keep the robot safe: position and velocity clamps, and a log
//! that reports each kind of bad input once, then with a running count.

use std::collections::HashMap;

use super::observe::Reject;

/// Per-joint position box and speed limit (empty vectors: no limit).
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub position_min: Vec<f64>,
    pub position_max: Vec<f64>,
    pub velocity_max: Vec<f64>,
}

impl Limits {
    /// Clamps a setpoint: first the step from `previous` to at most velocity_max * dt, then
    /// into the position box; the velocity is clamped to +-velocity_max. Returns whether
    /// anything was clamped.
    pub fn clamp(
        &self,
        pos: &mut [f64],
        vel: &mut [f64],
        previous: Option<&[f64]>,
        dt: f64,
    ) -> bool {
        let mut clamped = false;
        for j in 0..pos.len() {
            if let Some(&vmax) = self.velocity_max.get(j) {
                if let Some(prev) = previous {
                    let step = vmax * dt;
                    let c = pos[j].clamp(prev[j] - step, prev[j] + step);
                    clamped |= c != pos[j];
                    pos[j] = c;
                }
                let v = vel[j].clamp(-vmax, vmax);
                clamped |= v != vel[j];
                vel[j] = v;
            }
            if let (Some(&lo), Some(&hi)) = (self.position_min.get(j), self.position_max.get(j)) {
                let c = pos[j].clamp(lo, hi);
                if c != pos[j] {
                    clamped = true;
                    pos[j] = c;
                    vel[j] = 0.0;
                }
            }
        }
        clamped
    }
}

/// Counts rejected inputs by kind; logs the 1st, 10th, 100th, ... of each kind.
#[derive(Debug, Default)]
pub struct RejectLog {
    counts: HashMap<&'static str, u64>,
}

impl RejectLog {
    pub fn record(&mut self, r: &Reject) {
        let kind = match r {
            Reject::MissingJoint(_) => "missing_joint",
            Reject::NonFinite(_) => "non_finite",
            Reject::LengthMismatch(_) => "malformed",
            Reject::ImageEncoding(_) => "image_encoding",
            Reject::ImageSize(_) => "image_size",
            Reject::PolicyOutput(_) => "policy_output",
        };
        let c = self.counts.entry(kind).or_insert(0);
        *c += 1;
        if is_power_of_ten(*c) {
            tracing::warn!("{r}: skipped ({c} so far)");
        }
    }

    /// How many inputs of `kind` were rejected (kinds: missing_joint, non_finite, malformed,
    /// image_encoding, image_size, policy_output).
    pub fn count(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}
