//! The real-time side: every tick, take the newest plan, sample it one controller period
//! ahead, pass it through the limits, and keep the watchdog. It allocates nothing, logs
//! nothing and waits on nothing; all buffers are sized in `new`. Safety lives here, so it
//! holds whatever the planner, the network or the inputs do.

use super::inputs::{freshness, Freshness, Stamps};
use super::limits::{JointCommand, Limits};
use super::plan::{Plan, PlanKind};
use super::rejects::{Cause, RejectLog};

/// One point of a command: positions and velocities (units per second) in controller order.
#[derive(Debug, Default, PartialEq)]
pub struct Setpoint {
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
}

/// By hand: `clone_from` reuses the buffers (the derived one allocates anew), which keeps
/// the executor's ticks free of allocation.
impl Clone for Setpoint {
    fn clone(&self) -> Self {
        Setpoint {
            positions: self.positions.clone(),
            velocities: self.velocities.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.positions.clone_from(&src.positions);
        self.velocities.clone_from(&src.velocities);
    }
}

impl Setpoint {
    pub fn zeros(d: usize) -> Self {
        Setpoint {
            positions: vec![0.0; d],
            velocities: vec![0.0; d],
        }
    }
}

/// Why the executor holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HoldWhy {
    /// Inputs too old, or the clock jumped back: resumes on a plan made after fresh inputs.
    Stale(Freshness),
    /// The planner refused the policy's output: resumes on the next good plan.
    Refused,
    /// The parameter `enabled` is false: resumes on a plan made after it is true again.
    Disabled,
}

/// What may change while the node runs (parameters in `params::RUNTIME`).
#[derive(Debug, Default)]
pub struct Runtime {
    pub limits: Limits,
    pub timeout_s: f64,
    pub enabled: bool,
}

/// By hand: `clone_from` reuses the limit vectors (see `Setpoint`).
impl Clone for Runtime {
    fn clone(&self) -> Self {
        Runtime {
            limits: self.limits.clone(),
            timeout_s: self.timeout_s,
            enabled: self.enabled,
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.limits.clone_from(&src.limits);
        self.timeout_s = src.timeout_s;
        self.enabled = src.enabled;
    }
}

/// What one tick produced; the data is read from the executor's accessors.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tick {
    /// `setpoint()` holds a new command for this tick (streaming outputs publish it).
    pub command: bool,
    /// A new motion plan was taken: `horizon()` is new.
    pub new_plan: bool,
    /// `setpoint()` is a hold (at rest, or moving back into the box).
    pub holding: bool,
    /// This tick started holding (trajectory output publishes the hold once).
    pub hold_started: bool,
    /// A hold on stale inputs ended on this tick: a plan from fresh inputs was taken.
    pub resumed: bool,
    /// Why the hold, when `hold_started`.
    pub why: Option<HoldWhy>,
}

/// Seconds and spacing of the trajectory horizon.
#[derive(Clone, Copy, Debug)]
pub struct HorizonSpec {
    pub points: usize,
    pub spacing_s: f64,
}

pub struct Executor {
    limits: Limits,
    period_ns: i64,
    dt: f64,
    timeout_s: f64,
    needs_obs: bool,
    horizon_spec: HorizonSpec,
    /// Seq of the plan in use (0: none) and its time 0 on the tick grid.
    seq: u64,
    anchor_ns: i64,
    commanded: bool,
    cmd: Setpoint,
    target: Setpoint,
    setpoint: Setpoint,
    horizon: Vec<Setpoint>,
    hold: Option<HoldWhy>,
    hold_since_ns: i64,
    hold_target: Vec<f64>,
    enabled: bool,
    jump_tolerance_ns: i64,
    /// Input counts when the clock jumped back (inputs up to them are stale).
    jump_seq: Option<(u64, u64)>,
    /// `enabled` turned true again: the next tick starts the wait for a plan made from then.
    enable_pending: bool,
    /// Input counts when the policy was enabled again: only inputs received since count (in
    /// sim time a paused clock keeps older ones young, e.g. over a simulator reset).
    enabled_seq: Option<(u64, u64)>,
}

impl Executor {
    /// Starts with the run-time values `runtime` (limits, input timeout, enabled).
    pub fn new(
        runtime: &Runtime,
        dof: usize,
        rate_hz: f64,
        needs_obs: bool,
        horizon_spec: HorizonSpec,
    ) -> Self {
        Executor {
            limits: runtime.limits.clone(),
            period_ns: (1e9 / rate_hz).round() as i64,
            dt: 1.0 / rate_hz,
            timeout_s: runtime.timeout_s,
            needs_obs,
            horizon_spec,
            seq: 0,
            anchor_ns: 0,
            commanded: false,
            cmd: Setpoint::zeros(dof),
            target: Setpoint::zeros(dof),
            setpoint: Setpoint::zeros(dof),
            horizon: vec![Setpoint::zeros(dof); horizon_spec.points],
            hold: None,
            hold_since_ns: 0,
            hold_target: vec![0.0; dof],
            enabled: runtime.enabled,
            jump_tolerance_ns: i64::MAX,
            jump_seq: None,
            enable_pending: true,
            enabled_seq: None,
        }
    }

    /// Takes run-time parameter changes (between ticks; allocates only if a limit vector
    /// changes length, which validation forbids).
    pub fn set_runtime(&mut self, r: &Runtime) {
        self.limits.clone_from(&r.limits);
        self.timeout_s = r.timeout_s;
        if r.enabled && !self.enabled {
            self.enable_pending = true;
        }
        self.enabled = r.enabled;
    }

    /// Whether the planner should plan at once: holding on stale inputs, waiting for a plan
    /// made after they came back.
    pub fn awaiting_plan(&self) -> bool {
        self.enabled && matches!(self.hold, Some(HoldWhy::Stale(_) | HoldWhy::Disabled))
    }

    /// Whether the inputs can be acted on at `now_ns` (the run-time input_timeout_s; within the
    /// clock-jump tolerance; after a jump, only inputs received since).
    pub fn freshness(&self, now_ns: i64, stamps: Stamps) -> Freshness {
        if let Some((s, o)) = self.enabled_seq {
            if stamps.state_seq <= s || (self.needs_obs && stamps.obs_seq <= o) {
                return Freshness::Waiting;
            }
        }
        if let Some((s, o)) = self.jump_seq {
            if stamps.state_seq <= s {
                return Freshness::ClockJumpedBack(0);
            }
            if self.needs_obs && stamps.obs_seq <= o {
                return Freshness::ClockJumpedBack(1);
            }
        }
        freshness(
            stamps,
            self.needs_obs,
            now_ns,
            self.timeout_s,
            self.jump_tolerance_ns,
        )
    }

    /// Sim time: a clock more than this behind an input's stamp has jumped back. Wall time
    /// (monotonic) never jumps: i64::MAX.
    pub fn set_jump_tolerance(&mut self, ns: i64) {
        self.jump_tolerance_ns = ns;
    }

    /// One tick at node-clock time `now_ns`, with the newest input stamps and plan.
    pub fn tick(&mut self, now_ns: i64, stamps: Stamps, plan: &Plan, rejects: &RejectLog) -> Tick {
        if !self.enabled {
            return self.hold_or_nothing(now_ns, Some(HoldWhy::Disabled));
        }
        if self.hold == Some(HoldWhy::Disabled) && self.enable_pending {
            // Enabled again: only a plan made from now on, from inputs received from now on,
            // resumes.
            self.enable_pending = false;
            self.hold_since_ns = now_ns;
            self.enabled_seq = Some((stamps.state_seq, stamps.obs_seq));
        }
        match self.freshness(now_ns, stamps) {
            Freshness::Fresh => {
                self.jump_seq = None;
                self.enabled_seq = None;
            }
            Freshness::Waiting => return self.hold_or_nothing(now_ns, None),
            f => {
                let cause = match f {
                    Freshness::ClockJumpedBack(_) => {
                        // Inputs received before the jump stay stale even once the clock
                        // catches up with their stamps: only newer ones count.
                        if self.jump_seq.is_none() {
                            self.jump_seq = Some((stamps.state_seq, stamps.obs_seq));
                        }
                        Cause::ClockJumpedBack
                    }
                    _ => Cause::StaleInputs,
                };
                if self.hold.is_none() && self.commanded {
                    rejects.count_cause(cause);
                }
                return self.hold_or_nothing(now_ns, Some(HoldWhy::Stale(f)));
            }
        }
        if plan.kind == PlanKind::None {
            return self.hold_or_nothing(now_ns, None);
        }
        let mut resumed = false;
        // Enabled again: start from the measurement, as at start-up. The robot may have been
        // moved while the policy was off (an operator, another controller, a simulator
        // reset); dragging it back to where the policy left off would be the surprise (a
        // ros2_control controller also starts from the measured state on activation). A hold
        // for stale inputs keeps its commands continuous instead.
        let restart = self.hold == Some(HoldWhy::Disabled);
        if let Some(HoldWhy::Stale(_) | HoldWhy::Disabled) = self.hold {
            // A plan made after the hold began (and not before a clock jump: t0 <= now).
            if plan.t0_ns < self.hold_since_ns || plan.t0_ns > now_ns || plan.seq == self.seq {
                return self.hold_or_nothing(now_ns, self.hold);
            }
            resumed = true;
        }
        let new = plan.seq != self.seq;
        if new {
            self.anchor_ns = plan.anchor(now_ns, self.period_ns);
        }
        self.seq = plan.seq;
        match plan.kind {
            PlanKind::Hold => {
                if !self.commanded {
                    // Never commanded: hold at the measured state, moving into the box.
                    self.cmd.positions.copy_from_slice(&plan.y0);
                    self.cmd.velocities.fill(0.0);
                    self.commanded = true;
                    self.hold = None;
                }
                if self.hold != Some(HoldWhy::Refused) || new {
                    return self.hold_or_nothing(now_ns, Some(HoldWhy::Refused));
                }
                self.hold_step(false)
            }
            _ => {
                self.hold = None;
                if !self.commanded || restart {
                    // The first command starts from the measurement, its velocity within
                    // the speed limit.
                    self.cmd.positions.copy_from_slice(&plan.y0);
                    for (j, v) in self.cmd.velocities.iter_mut().enumerate() {
                        let vmax = self
                            .limits
                            .velocity_max
                            .get(j)
                            .copied()
                            .unwrap_or(f64::INFINITY);
                        *v = plan.dy0[j].clamp(-vmax, vmax);
                    }
                }
                // The horizon starts from the last command, so it is filled before the
                // command moves on to this tick's setpoint (it uses `target` as scratch).
                if new {
                    self.fill_horizon(now_ns, plan);
                }
                plan.sample(
                    now_ns + self.period_ns - self.anchor_ns,
                    &mut self.target.positions,
                    &mut self.target.velocities,
                );
                self.step_to_target();
                self.commanded = true;
                Tick {
                    command: true,
                    new_plan: new,
                    resumed,
                    ..Tick::default()
                }
            }
        }
    }

    /// The horizon from the command before this tick, sampled every `spacing_s`.
    fn fill_horizon(&mut self, now_ns: i64, plan: &Plan) {
        let spacing_ns = (self.horizon_spec.spacing_s * 1e9) as i64;
        for i in 0..self.horizon.len() {
            let (before, rest) = self.horizon.split_at_mut(i);
            let prev = before.last().unwrap_or(&self.cmd);
            let t = now_ns + (i as i64 + 1) * spacing_ns - self.anchor_ns;
            plan.sample(t, &mut self.target.positions, &mut self.target.velocities);
            let out = &mut rest[0];
            self.limits.apply(
                &prev.positions,
                &prev.velocities,
                &self.target.positions,
                &self.target.velocities,
                self.horizon_spec.spacing_s,
                &mut out.positions,
                &mut out.velocities,
            );
        }
    }

    /// Enters or stays in a hold (nothing at all if nothing was ever commanded).
    fn hold_or_nothing(&mut self, now_ns: i64, why: Option<HoldWhy>) -> Tick {
        if !self.commanded {
            return Tick::default();
        }
        let started = self.hold.is_none()
            || (why.is_some()
                && self.hold != why
                && !matches!(
                    (self.hold, why),
                    (Some(HoldWhy::Stale(_)), Some(HoldWhy::Stale(_)))
                ));
        if started {
            self.hold = why.or(Some(HoldWhy::Refused));
            self.hold_since_ns = now_ns;
            // Where the hold aims: where the joint can stop (braking), inside the box.
            self.aim_hold();
        }
        let mut t = self.hold_step(started);
        t.why = if started { self.hold } else { None };
        t
    }

    /// The hold as a trajectory (for joint_trajectory_controller): braking within the limits
    /// from the current command to the hold target, ending at rest (a controller that
    /// refuses a moving last point, as Jazzy's does by default, takes it).
    fn fill_hold_horizon(&mut self) {
        let dt = self.horizon_spec.spacing_s;
        self.target.velocities.fill(0.0);
        for i in 0..self.horizon.len() {
            let (before, rest) = self.horizon.split_at_mut(i);
            let prev = before.last().unwrap_or(&self.cmd);
            let out = &mut rest[0];
            self.limits.apply(
                &prev.positions,
                &prev.velocities,
                &self.hold_target,
                &self.target.velocities,
                dt,
                &mut out.positions,
                &mut out.velocities,
            );
        }
        if let Some(last) = self.horizon.last_mut() {
            last.velocities.fill(0.0);
        }
    }

    /// Before the node stops: a hold from the last command, as a trajectory in `horizon()`.
    pub fn final_hold(&mut self) {
        self.aim_hold();
    }

    /// Aims the hold where each joint can stop from the last command (braking within the
    /// limits, inside the box) and fills the hold trajectory toward it.
    fn aim_hold(&mut self) {
        for j in 0..self.hold_target.len() {
            let c = JointCommand {
                position: self.cmd.positions[j],
                velocity: self.cmd.velocities[j],
            };
            self.hold_target[j] = self.limits.stopping_point(j, c);
        }
        self.fill_hold_horizon();
    }

    /// One tick toward `target` within the limits: the new setpoint becomes the command.
    fn step_to_target(&mut self) {
        self.limits.apply(
            &self.cmd.positions,
            &self.cmd.velocities,
            &self.target.positions,
            &self.target.velocities,
            self.dt,
            &mut self.setpoint.positions,
            &mut self.setpoint.velocities,
        );
        self.cmd.clone_from(&self.setpoint);
    }

    fn hold_step(&mut self, started: bool) -> Tick {
        self.target.positions.copy_from_slice(&self.hold_target);
        self.target.velocities.fill(0.0);
        self.step_to_target();
        Tick {
            command: true,
            holding: true,
            hold_started: started,
            ..Tick::default()
        }
    }

    pub fn setpoint(&self) -> &Setpoint {
        &self.setpoint
    }

    /// The trajectory of the newest motion plan from the command before it was taken, or of
    /// the newest hold (braking to rest).
    pub fn horizon(&self) -> &[Setpoint] {
        &self.horizon
    }

    pub fn horizon_spec(&self) -> HorizonSpec {
        self.horizon_spec
    }

    pub fn is_holding(&self) -> bool {
        self.hold.is_some()
    }

    pub fn commanded(&self) -> bool {
        self.commanded
    }
}
