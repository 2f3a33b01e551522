//! The node's logic, free of ROS and of wall time: latest inputs in, every k ticks a policy
//! call, every tick l Euler sub-steps of the DMP, limits, and a watchdog that holds the robot
//! when inputs go stale. The runner feeds it messages and the clock; tests feed it a fake one.

use super::observe::{image_input, reorder, JointSnapshot, Reject};
use super::params::{NodeParams, ObservationMode};
use super::safety::{Limits, RejectLog};
use crate::dmp::{DmpConfig, DmpStepper};
use crate::error::{Error, Result};
use crate::msgs::{DmpPlan, Image, JointState, PoseStamped, Time};

/// What the policy sees at a planning tick.
pub struct PlanInput<'a> {
    pub state: &'a JointSnapshot,
    /// Grayscale, image_side x image_side, in [0, 1] (image observation only).
    pub image: Option<&'a [f32]>,
}

/// Something that maps an observation to DMP parameters: the network, or a fake in tests.
pub trait Planner {
    /// Goal g (one per DoF) and weights w (row-major, DoF x N).
    fn plan(&mut self, input: &PlanInput) -> Result<(Vec<f64>, Vec<f64>)>;
}

/// One point of a command: positions and velocities (units per second) in controller order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Setpoint {
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
}

/// What one tick produced; the data is read from the controller's accessors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// `setpoint()` holds a new command for this tick (streaming outputs publish it).
    pub command: bool,
    /// A policy call happened: `horizon()` and `plan()` are new.
    pub new_plan: bool,
    /// Inputs are stale or the policy failed: `setpoint()` is the hold position.
    pub holding: bool,
    /// This tick started holding (trajectory output publishes the hold once).
    pub hold_started: bool,
}

pub struct Controller<P> {
    params: NodeParams,
    planner: P,
    dmp: DmpConfig,
    stepper: DmpStepper,
    k: usize,
    substeps: usize,
    image_side: usize,
    limits: Limits,
    state: Option<(JointSnapshot, Time)>,
    image: Option<(Vec<f32>, Time)>,
    ticks_since_plan: usize,
    planned: bool,
    holding: bool,
    setpoint: Setpoint,
    last_command: Option<Vec<f64>>,
    horizon: Vec<Setpoint>,
    plan: DmpPlan,
    rejects: RejectLog,
}

impl<P: Planner> Controller<P> {
    /// `dmp` is the checkpoint's DMP; `k` and `substeps` come from the parameters when set.
    /// `image_side` is the model's input size in image mode.
    pub fn new(params: NodeParams, planner: P, dmp: &DmpConfig, image_side: usize) -> Result<Self> {
        let mut dmp = dmp.clone();
        if params.substeps > 0 {
            dmp.substeps = params.substeps;
        }
        dmp.validate("checkpoint dmp (with parameter substeps)")?;
        let k = if params.k > 0 { params.k } else { dmp.t };
        if k == 0 {
            return Err(Error::invalid("parameter k", "must be at least 1"));
        }
        let d = params.joint_names.len();
        let limits = Limits {
            position_min: params.position_min.clone(),
            position_max: params.position_max.clone(),
            velocity_max: params.velocity_max.clone(),
        };
        Ok(Controller {
            stepper: DmpStepper::new(&dmp, d),
            substeps: dmp.substeps,
            k,
            image_side,
            limits,
            state: None,
            image: None,
            ticks_since_plan: 0,
            planned: false,
            holding: false,
            setpoint: Setpoint {
                positions: vec![0.0; d],
                velocities: vec![0.0; d],
            },
            last_command: None,
            horizon: Vec::new(),
            plan: DmpPlan {
                joint_names: params.joint_names.clone(),
                n_basis: dmp.n_basis as u32,
                k: k as u32,
                a_z: dmp.a_z,
                a_x: dmp.a_x,
                dt: dmp.dt(),
                ..Default::default()
            },
            rejects: RejectLog::default(),
            dmp,
            planner,
            params,
        })
    }

    pub fn on_joint_state(&mut self, msg: &JointState, now: Time) {
        match reorder(
            msg,
            &self.params.joint_names,
            &self.params.joint_state_topic,
        ) {
            Ok(s) => self.state = Some((s, now)),
            Err(r) => self.rejects.record(&r),
        }
    }

    /// End-effector pose as the measured state (pose output): x, y, z are the first DoF.
    pub fn on_pose(&mut self, msg: &PoseStamped, now: Time) {
        let p = msg.pose.position;
        let d = self.params.joint_names.len();
        if ![p.x, p.y, p.z].iter().all(|v| v.is_finite()) {
            let r = Reject::NonFinite(format!("{}: position {p:?}", self.params.ee_pose_topic));
            self.rejects.record(&r);
            return;
        }
        let mut positions = vec![0.0; d];
        positions[..3].copy_from_slice(&[p.x, p.y, p.z]);
        self.state = Some((
            JointSnapshot {
                positions,
                velocities: vec![0.0; d],
            },
            now,
        ));
    }

    pub fn on_image(&mut self, msg: &Image, now: Time) {
        if self.params.observation == ObservationMode::State {
            return;
        }
        let expect = (self.params.image_width, self.params.image_height);
        match image_input(msg, self.image_side, expect, &self.params.image_topic) {
            Ok(px) => self.image = Some((px, now)),
            Err(r) => self.rejects.record(&r),
        }
    }

    /// Seconds since an input arrived, or None if it never did.
    fn age(at: Option<Time>, now: Time) -> Option<f64> {
        at.map(|t| (now.nanos() - t.nanos()) as f64 * 1e-9)
    }

    /// One controller tick at ROS time `now`.
    pub fn tick(&mut self, now: Time) -> Tick {
        let needs_image = self.params.observation != ObservationMode::State;
        let state_age = Self::age(self.state.as_ref().map(|s| s.1), now);
        let image_age = Self::age(self.image.as_ref().map(|s| s.1), now);
        let (Some(state_age), true) = (state_age, !needs_image || image_age.is_some()) else {
            return Tick::default(); // nothing before the first valid observation
        };
        let timeout = self.params.input_timeout_s;
        let stale = if state_age > timeout {
            Some(format!(
                "{} {state_age:.3} s old",
                self.params.joint_state_topic
            ))
        } else if needs_image && image_age.unwrap_or(0.0) > timeout {
            Some(format!(
                "{} {:.3} s old",
                self.params.image_topic,
                image_age.unwrap_or(0.0)
            ))
        } else {
            None
        };
        if let Some(why) = stale {
            if !self.holding {
                tracing::warn!(
                    "inputs stale ({why} > input_timeout_s {timeout}): holding position"
                );
            }
            return self.hold();
        }
        if self.holding {
            tracing::info!("inputs fresh again: resuming the policy");
            self.holding = false;
            self.planned = false;
        }
        let mut tick = Tick::default();
        if !self.planned || self.ticks_since_plan >= self.k {
            match self.replan(now) {
                Ok(()) => tick.new_plan = true,
                Err(r) => {
                    self.rejects.record(&r);
                    return self.hold();
                }
            }
        }
        self.advance();
        self.ticks_since_plan += 1;
        tick.command = true;
        tick
    }

    /// Enters (or stays in) hold: the last command, else the measured position, at rest.
    fn hold(&mut self) -> Tick {
        let started = !self.holding;
        self.holding = true;
        self.planned = false;
        if started {
            let pos = match (&self.last_command, &self.state) {
                (Some(c), _) => c.clone(),
                (None, Some((s, _))) => s.positions.clone(),
                (None, None) => self.setpoint.positions.clone(),
            };
            self.setpoint.positions.copy_from_slice(&pos);
            self.setpoint.velocities.fill(0.0);
            self.last_command = Some(pos);
        }
        Tick {
            command: true,
            new_plan: false,
            holding: true,
            hold_started: started,
        }
    }

    /// DMP time per tick over wall time per tick: v_robot = z * rate / T.
    fn velocity_scale(&self) -> f64 {
        self.params.rate_hz / self.dmp.t as f64
    }

    fn replan(&mut self, now: Time) -> std::result::Result<(), Reject> {
        let (state, _) = self.state.as_ref().expect("checked by tick");
        let input = PlanInput {
            state,
            image: self.image.as_ref().map(|i| i.0.as_slice()),
        };
        let (g, w) = self
            .planner
            .plan(&input)
            .map_err(|e| Reject::PolicyOutput(e.to_string()))?;
        let d = state.positions.len();
        if g.len() != d || w.len() != d * self.dmp.n_basis {
            return Err(Reject::PolicyOutput(format!(
                "{} goals and {} weights for {d} DoF and {} bases",
                g.len(),
                w.len(),
                self.dmp.n_basis
            )));
        }
        if g.iter().chain(&w).any(|v| !v.is_finite()) {
            return Err(Reject::PolicyOutput("NaN or Inf in g or w".into()));
        }
        let scale = self.velocity_scale();
        let dy0: Vec<f64> = state.velocities.iter().map(|v| v / scale).collect();
        let y0 = state.positions.clone();
        self.stepper
            .reset(&y0, &dy0, &g, &w)
            .map_err(|e| Reject::PolicyOutput(e.to_string()))?;
        self.ticks_since_plan = 0;
        self.planned = true;
        // The horizon the trajectory output publishes: the same rollout, clamped the same way.
        let mut ahead = self.stepper.clone();
        let mut prev = self.last_command.clone().unwrap_or_else(|| y0.clone());
        self.horizon.clear();
        for _ in 0..self.k {
            let sp = self.step_clamped(&mut ahead, &prev);
            prev.clone_from(&sp.positions);
            self.horizon.push(sp);
        }
        self.plan.header.stamp = now;
        self.plan.y0 = y0;
        self.plan.dy0 = dy0;
        self.plan.g = g;
        self.plan.w = w;
        Ok(())
    }

    fn step_clamped(&self, stepper: &mut DmpStepper, prev: &[f64]) -> Setpoint {
        for _ in 0..self.substeps {
            stepper.step();
        }
        let scale = self.velocity_scale();
        let mut sp = Setpoint {
            positions: stepper.position().to_vec(),
            velocities: stepper.velocity().iter().map(|z| z * scale).collect(),
        };
        self.limits.clamp(
            &mut sp.positions,
            &mut sp.velocities,
            Some(prev),
            1.0 / self.params.rate_hz,
        );
        sp
    }

    /// The streaming path: no allocation once a command exists.
    fn advance(&mut self) {
        for _ in 0..self.substeps {
            self.stepper.step();
        }
        let scale = self.velocity_scale();
        self.setpoint
            .positions
            .copy_from_slice(self.stepper.position());
        for (v, z) in self
            .setpoint
            .velocities
            .iter_mut()
            .zip(self.stepper.velocity())
        {
            *v = z * scale;
        }
        let dt = 1.0 / self.params.rate_hz;
        let prev = match (&self.last_command, &self.state) {
            (Some(c), _) => Some(c.as_slice()),
            (None, Some((s, _))) => Some(s.positions.as_slice()),
            _ => None,
        };
        self.limits.clamp(
            &mut self.setpoint.positions,
            &mut self.setpoint.velocities,
            prev,
            dt,
        );
        match &mut self.last_command {
            Some(c) => c.copy_from_slice(&self.setpoint.positions),
            None => self.last_command = Some(self.setpoint.positions.clone()),
        }
    }

    pub fn setpoint(&self) -> &Setpoint {
        &self.setpoint
    }

    /// The next k setpoints of the latest plan (tick 1..k after the plan).
    pub fn horizon(&self) -> &[Setpoint] {
        &self.horizon
    }

    pub fn plan(&self) -> &DmpPlan {
        &self.plan
    }

    pub fn planner(&self) -> &P {
        &self.planner
    }

    pub fn rejects(&self) -> &RejectLog {
        &self.rejects
    }

    pub fn params(&self) -> &NodeParams {
        &self.params
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn is_holding(&self) -> bool {
        self.holding
    }
}
