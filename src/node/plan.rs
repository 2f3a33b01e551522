//! A plan is a function of time: the DMP rollout training used (T * l Euler steps over the
//! plan's duration), kept as a table and sampled at any controller rate, positions and
//! velocities interpolated between rollout points. After its end a plan holds its last point.
//! A hold is a plan too: one point, at rest. Plans are refilled in place (no allocation once
//! their buffers have grown), so the hand-off to the executor can be a triple buffer.

use crate::dmp::DmpStepper;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanKind {
    /// Nothing planned yet.
    #[default]
    None,
    /// A DMP rollout.
    Motion,
    /// The policy's output was refused: stay at the anchor (the measured state).
    Hold,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Increases with every plan made; 0: none yet.
    pub seq: u64,
    pub kind: PlanKind,
    /// Node-clock time (ns) of plan time 0: when the planner took its input snapshot.
    pub t0_ns: i64,
    /// Seconds the rollout spans (the time the model was trained to cover).
    pub duration_s: f64,
    /// Rollout points (T * l + 1, or 1 for a hold), each `dof` positions.
    pub points: usize,
    pub dof: usize,
    pub positions: Vec<f64>,
    /// Units per second.
    pub velocities: Vec<f64>,
    /// The measured start state (velocity in units per second) and the DMP parameters.
    pub y0: Vec<f64>,
    pub dy0: Vec<f64>,
    pub g: Vec<f64>,
    pub w: Vec<f64>,
}

fn refill(v: &mut Vec<f64>, from: &[f64]) {
    v.clear();
    v.extend_from_slice(from);
}

impl Plan {
    /// Rolls out `stepper` (already reset to y0, dy0, g, w) into this plan.
    #[allow(clippy::too_many_arguments)]
    pub fn fill_motion(
        &mut self,
        seq: u64,
        t0_ns: i64,
        duration_s: f64,
        stepper: &mut DmpStepper,
        steps: usize,
        y0: &[f64],
        dy0_per_s: &[f64],
        g: &[f64],
        w: &[f64],
    ) {
        let d = y0.len();
        self.seq = seq;
        self.kind = PlanKind::Motion;
        self.t0_ns = t0_ns;
        self.duration_s = duration_s;
        self.points = steps + 1;
        self.dof = d;
        self.positions.clear();
        self.velocities.clear();
        // DMP velocity is per unit of DMP time, and the rollout spans one unit.
        let scale = 1.0 / duration_s;
        for k in 0..=steps {
            if k > 0 {
                stepper.step();
            }
            self.positions.extend_from_slice(stepper.position());
            self.velocities
                .extend(stepper.velocity().iter().map(|z| z * scale));
        }
        refill(&mut self.y0, y0);
        refill(&mut self.dy0, dy0_per_s);
        refill(&mut self.g, g);
        refill(&mut self.w, w);
    }

    /// Divides positions, velocities and the start by `s` (a plan made in DMP units).
    pub fn unscale(&mut self, s: f64) {
        for v in [
            &mut self.positions,
            &mut self.velocities,
            &mut self.y0,
            &mut self.dy0,
            &mut self.g,
        ] {
            v.iter_mut().for_each(|x| *x /= s);
        }
    }

    /// A hold at `y0` (a refused policy output: the executor stays, or moves into the box).
    pub fn fill_hold(&mut self, seq: u64, t0_ns: i64, y0: &[f64]) {
        self.seq = seq;
        self.kind = PlanKind::Hold;
        self.t0_ns = t0_ns;
        self.duration_s = 0.0;
        self.points = 1;
        self.dof = y0.len();
        refill(&mut self.positions, y0);
        self.velocities.clear();
        self.velocities.resize(y0.len(), 0.0);
        refill(&mut self.y0, y0);
        self.dy0.clear();
        self.dy0.resize(y0.len(), 0.0);
        self.g.clear();
        self.w.clear();
    }

    /// Position and velocity `tau_ns` after plan time 0 (before: the start; after the end:
    /// the last point at rest). Allocates nothing.
    pub fn sample(&self, tau_ns: i64, pos: &mut [f64], vel: &mut [f64]) {
        let d = self.dof;
        let last = self.points.saturating_sub(1);
        let tau = tau_ns as f64 * 1e-9;
        let x = if self.duration_s > 0.0 && last > 0 {
            (tau / self.duration_s * last as f64).max(0.0)
        } else {
            f64::INFINITY
        };
        // Times that are a rollout point up to rounding land on it exactly.
        let near = x.round();
        let x = if (x - near).abs() < 1e-9 { near } else { x };
        if x >= last as f64 {
            pos.copy_from_slice(&self.positions[last * d..(last + 1) * d]);
            vel.fill(0.0);
            return;
        }
        let i = x.floor() as usize;
        let f = x - i as f64;
        let (a, b) = (i * d, (i + 1) * d);
        for j in 0..d {
            pos[j] = self.positions[a + j] + f * (self.positions[b + j] - self.positions[a + j]);
            vel[j] = self.velocities[a + j] + f * (self.velocities[b + j] - self.velocities[a + j]);
        }
    }

    /// Re-anchors the plan on the tick grid: the node-clock time of plan time 0 such that
    /// ticks fall on whole periods of it, skipping the whole ticks the planning took.
    pub fn anchor(&self, now_ns: i64, period_ns: i64) -> i64 {
        let late = (now_ns - self.t0_ns).max(0);
        now_ns - late / period_ns * period_ns
    }
}
