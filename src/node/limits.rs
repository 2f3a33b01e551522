//! Joint limits that hold whatever the policy or the inputs do. One rule set, applied to every
//! command the node sends (streamed setpoints, trajectory points, holds):
//! 1. speed: a command is at most `velocity_max * dt` from the previous one (always wins);
//! 2. box: from inside `[position_min, position_max]` a command stays inside; from outside it
//!    only moves back toward the box (never further out, never a jump onto the edge);
//! 3. acceleration: the commanded velocity changes by at most `acceleration_max * dt` per tick
//!    and brakes so as to reach its target without overshoot (yields only to rule 2 at the box
//!    edge).
//!
//! A command's velocity is the plan's velocity when no rule changed the position, else the
//! clamped step over dt, so position and velocity agree for a spline-fitting controller.

/// Per-joint limits (empty vectors: that limit is off).
#[derive(Debug, Default)]
pub struct Limits {
    pub position_min: Vec<f64>,
    pub position_max: Vec<f64>,
    pub velocity_max: Vec<f64>,
    pub acceleration_max: Vec<f64>,
}

/// By hand: `clone_from` reuses the vectors, so that run-time limit changes do not allocate
/// on the executor's thread (validation keeps their lengths).
impl Clone for Limits {
    fn clone(&self) -> Self {
        Limits {
            position_min: self.position_min.clone(),
            position_max: self.position_max.clone(),
            velocity_max: self.velocity_max.clone(),
            acceleration_max: self.acceleration_max.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.position_min.clone_from(&src.position_min);
        self.position_max.clone_from(&src.position_max);
        self.velocity_max.clone_from(&src.velocity_max);
        self.acceleration_max.clone_from(&src.acceleration_max);
    }
}

/// The previous command of one joint: where it is and how fast it moves.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JointCommand {
    pub position: f64,
    pub velocity: f64,
}

impl Limits {
    fn bounds(&self, j: usize) -> (f64, f64) {
        match (self.position_min.get(j), self.position_max.get(j)) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    /// One joint, one tick of `dt` seconds: from `prev` toward `target` (position, velocity).
    /// Returns the command and whether a limit changed it. A non-finite target is a hold.
    pub fn step(
        &self,
        j: usize,
        prev: JointCommand,
        target: JointCommand,
        dt: f64,
    ) -> (JointCommand, bool) {
        let (lo, hi) = self.bounds(j);
        let (goal, mut limited) = if target.position.is_finite() {
            let g = target.position.clamp(lo, hi);
            (g, g != target.position)
        } else {
            (prev.position, true)
        };
        let vmax = self.velocity_max.get(j).copied().unwrap_or(f64::INFINITY);
        let mut v = (goal - prev.position) / dt;
        if let Some(&amax) = self.acceleration_max.get(j) {
            // Brake: never faster than what can still stop at the goal in whole ticks
            // (the discrete form of sqrt(2 a d), which overshoots at a tick's resolution).
            let d = (goal - prev.position).abs();
            let adt = amax * dt;
            let brake = adt * ((0.25 + 2.0 * d / (adt * dt)).sqrt() - 0.5);
            let want = v.clamp(-brake, brake);
            let lo_v = prev.velocity - amax * dt;
            let hi_v = prev.velocity + amax * dt;
            let c = want.clamp(lo_v, hi_v);
            limited |= c != v;
            v = c;
        }
        if v.abs() > vmax {
            v = v.signum() * vmax;
            limited = true;
        }
        let mut p = prev.position + v * dt;
        let boxed = if prev.position > hi {
            p.clamp(f64::NEG_INFINITY, prev.position).max(lo)
        } else if prev.position < lo {
            p.clamp(prev.position, f64::INFINITY).min(hi)
        } else {
            p.clamp(lo, hi)
        };
        if boxed != p {
            p = boxed;
            limited = true;
        }
        let velocity = if limited {
            (p - prev.position) / dt
        } else {
            // The plan's velocity, held to the same limits as the motion.
            let v = target.velocity.clamp(-vmax, vmax);
            match self.acceleration_max.get(j) {
                Some(&a) => v.clamp(prev.velocity - a * dt, prev.velocity + a * dt),
                None => v,
            }
        };
        let velocity = if velocity.is_finite() { velocity } else { 0.0 };
        (
            JointCommand {
                position: p,
                velocity,
            },
            limited,
        )
    }

    /// Every joint: `prev_*` the last command, `target_*` where the plan wants to be; writes
    /// the command into `pos` / `vel`. Returns whether any limit acted. Allocates nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &self,
        prev_pos: &[f64],
        prev_vel: &[f64],
        target_pos: &[f64],
        target_vel: &[f64],
        dt: f64,
        pos: &mut [f64],
        vel: &mut [f64],
    ) -> bool {
        let mut any = false;
        for j in 0..pos.len() {
            let prev = JointCommand {
                position: prev_pos[j],
                velocity: prev_vel[j],
            };
            let target = JointCommand {
                position: target_pos[j],
                velocity: target_vel[j],
            };
            let (c, limited) = self.step(j, prev, target, dt);
            pos[j] = c.position;
            vel[j] = c.velocity;
            any |= limited;
        }
        any
    }

    /// Where joint `j`, commanded at `c`, can come to rest: braking at acceleration_max (or
    /// at once without one), then into the box.
    pub fn stopping_point(&self, j: usize, c: JointCommand) -> f64 {
        let (lo, hi) = self.bounds(j);
        let p = match self.acceleration_max.get(j) {
            Some(&a) if c.velocity.is_finite() => {
                c.position + c.velocity * c.velocity.abs() / (2.0 * a)
            }
            _ => c.position,
        };
        p.clamp(lo, hi)
    }
}
