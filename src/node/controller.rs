//! The node's logic on one thread, free of ROS and of wall time: inputs in, a policy call
//! every replan period, the executor every tick. The threaded node (`run`) uses the same
//! pieces split over threads; tests, evaluation and the tick benchmark use this.

use super::executor::{Executor, HorizonSpec, Runtime, Setpoint, Tick};
use super::inputs::{Freshness, Inputs};
use super::limits::Limits;
use super::params::{NodeParams, ObservationMode};
use super::plan::{Plan, PlanKind};
use super::plan_maker::{PlanMaker, Planner};
use super::rejects::RejectLog;
use crate::dmp::DmpConfig;
use crate::error::{Error, Result};
use crate::msgs::{DmpPlan, Float64MultiArray, Image, JointState, PoseStamped, Time};

/// Points per JointTrajectory at most; beyond, points are spaced wider than a tick.
pub const MAX_HORIZON_POINTS: usize = 200;

pub struct Controller<P> {
    params: NodeParams,
    inputs: Inputs,
    maker: PlanMaker<P>,
    plan: Plan,
    exec: Executor,
    replan_ns: i64,
    last_plan_ns: Option<i64>,
    dmp: DmpConfig,
}

/// The checkpoint's DMP with the node's sub-step override, validated.
pub fn node_dmp(params: &NodeParams, dmp: &DmpConfig) -> Result<DmpConfig> {
    let mut dmp = dmp.clone();
    if params.substeps > 0 {
        dmp.substeps = params.substeps;
    }
    dmp.validate("checkpoint dmp (with parameter substeps)")?;
    Ok(dmp)
}

/// The limits the parameters set.
pub fn limits(p: &NodeParams) -> Limits {
    Limits {
        position_min: p.position_min.clone(),
        position_max: p.position_max.clone(),
        velocity_max: p.velocity_max.clone(),
        acceleration_max: p.acceleration_max.clone(),
    }
}

/// The run-time parameters' values.
pub fn runtime(p: &NodeParams) -> Runtime {
    Runtime {
        limits: limits(p),
        timeout_s: p.input_timeout_s,
        enabled: p.enabled,
    }
}

/// An executor for resolved parameters (plan timing set).
pub fn executor(p: &NodeParams) -> Executor {
    let period = 1.0 / p.rate_hz;
    let n = ((p.horizon_s / period).ceil() as usize).clamp(1, MAX_HORIZON_POINTS);
    let spacing_s = (p.horizon_s / n as f64).max(period);
    let mut e = Executor::new(
        &runtime(p),
        p.joint_names.len(),
        p.rate_hz,
        p.observation != ObservationMode::State,
        HorizonSpec {
            points: n,
            spacing_s,
        },
    );
    // Sim time can jump back (a simulator reset); inputs stamped up to two ticks after a
    // tick's own time are just late, not from the future.
    if p.use_sim_time {
        e.set_jump_tolerance((2e9 / p.rate_hz) as i64);
    }
    e
}

impl<P: Planner> Controller<P> {
    /// `dmp` is the checkpoint's DMP; `image_side` the model's input size in image mode.
    /// Plan timing left unset in `params` follows `NodeParams::resolve_timing` without a
    /// checkpoint duration (dmp.t ticks).
    pub fn new(
        mut params: NodeParams,
        planner: P,
        dmp: &DmpConfig,
        image_side: usize,
    ) -> Result<Self> {
        let dmp = node_dmp(&params, dmp)?;
        params.resolve_timing(None, dmp.t);
        if params.plan_duration_s.is_nan() || params.plan_duration_s <= 0.0 {
            return Err(Error::invalid("parameter plan_duration_s", "must be > 0"));
        }
        let d = params.joint_names.len();
        Ok(Controller {
            inputs: Inputs::new(&params),
            maker: PlanMaker::new(planner, &dmp, d, params.plan_duration_s, image_side),
            plan: Plan::default(),
            exec: executor(&params),
            replan_ns: (params.replan_period_s * 1e9) as i64,
            last_plan_ns: None,
            dmp,
            params,
        })
    }

    /// How plans set the DMP's initial velocity (the checkpoint's deploy.yaml says).
    pub fn set_dy0(&mut self, dy0: super::plan_maker::Dy0) {
        self.maker.set_dy0(dy0);
    }

    /// Run-time parameter changes (limits, input_timeout_s, enabled), as the node takes them.
    pub fn set_runtime(&mut self, r: &Runtime) {
        self.params.input_timeout_s = r.timeout_s;
        self.exec.set_runtime(r);
    }

    /// DMP units per position unit (deploy.yaml `position_scale`).
    pub fn set_position_scale(&mut self, s: f64) {
        self.maker.set_position_scale(s);
    }

    pub fn on_joint_state(&mut self, msg: &JointState, now: Time) {
        self.inputs.on_joint_state(msg, now.nanos());
    }

    pub fn on_pose(&mut self, msg: &PoseStamped, now: Time) {
        self.inputs.on_pose(msg, now.nanos());
    }

    pub fn on_vector(&mut self, msg: &Float64MultiArray, now: Time) {
        self.inputs.on_vector(msg, now.nanos());
    }

    pub fn on_image(&mut self, msg: &Image, now: Time) {
        self.inputs.on_image(msg.clone(), now.nanos());
    }

    /// One controller tick at node time `now`: plans first when a plan is due.
    pub fn tick(&mut self, now: Time) -> Tick {
        let now_ns = now.nanos();
        let f = self.exec.freshness(now_ns, self.inputs.stamps());
        let due = match self.last_plan_ns {
            None => true,
            Some(t) => now_ns - t >= self.replan_ns - self.half_tick_ns() || now_ns < t,
        };
        if f == Freshness::Fresh && (due || self.exec.awaiting_plan()) {
            match self.maker.make(&self.inputs, now_ns, &mut self.plan) {
                Ok(true) => self.last_plan_ns = Some(now_ns),
                Ok(false) => {}
                Err(r) => {
                    self.inputs.rejects.record(&r);
                    self.last_plan_ns = Some(now_ns);
                }
            }
        }
        self.exec.tick(
            now_ns,
            self.inputs.stamps(),
            &self.plan,
            &self.inputs.rejects,
        )
    }

    fn half_tick_ns(&self) -> i64 {
        (0.5e9 / self.params.rate_hz) as i64
    }

    pub fn setpoint(&self) -> &Setpoint {
        self.exec.setpoint()
    }

    /// The newest motion plan's trajectory points (`horizon_s` of it).
    pub fn horizon(&self) -> &[Setpoint] {
        self.exec.horizon()
    }

    /// Seconds between horizon points.
    pub fn horizon_spacing_s(&self) -> f64 {
        self.exec.horizon_spec().spacing_s
    }

    /// The newest plan (a hold after a refused policy output).
    pub fn current_plan(&self) -> &Plan {
        &self.plan
    }

    /// The newest plan as the DmpPlan message.
    pub fn plan(&self) -> DmpPlan {
        plan_message(
            &self.params,
            &self.dmp,
            &self.plan,
            Time::from_nanos(self.plan.t0_ns),
        )
    }

    pub fn planner(&self) -> &P {
        &self.maker.planner
    }

    pub fn rejects(&self) -> &RejectLog {
        &self.inputs.rejects
    }

    pub fn params(&self) -> &NodeParams {
        &self.params
    }

    pub fn is_holding(&self) -> bool {
        self.exec.is_holding()
    }

    /// The resolved parameters, the plan maker and the DMP, for the threaded node.
    pub fn into_parts(self) -> (NodeParams, PlanMaker<P>, DmpConfig) {
        (self.params, self.maker, self.dmp)
    }
}

/// ndp_ros_msgs/DmpPlan of a plan (dy0 in DMP units, as the DMP integrates it).
pub fn plan_message(p: &NodeParams, dmp: &DmpConfig, plan: &Plan, stamp: Time) -> DmpPlan {
    let mut m = DmpPlan {
        joint_names: p.joint_names.clone(),
        n_basis: dmp.n_basis as u32,
        k: (p.replan_period_s * p.rate_hz).round() as u32,
        a_z: dmp.a_z,
        a_x: dmp.a_x,
        dt: dmp.dt(),
        ..Default::default()
    };
    m.header.stamp = stamp;
    if plan.kind == PlanKind::Motion {
        m.y0.clone_from(&plan.y0);
        m.dy0 = plan.dy0.iter().map(|v| v * plan.duration_s).collect();
        m.g.clone_from(&plan.g);
        m.w.clone_from(&plan.w);
    }
    m
}
