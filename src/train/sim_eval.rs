//! Success rate of a behaviour-cloned policy acting in an environment, through the node's own
//! path: the environment's observation goes in as the node's vector observation and joint
//! state, the one-thread `Controller` (the same plan maker, plans-as-functions-of-time and
//! executor the node runs) plans every dmp.t steps and commands a position every step, and
//! the command becomes the environment's action (the step to it, in units of `action_scale`).

use crate::env::VecEnv;
use crate::error::{Error, Result};
use crate::msgs::{Float64MultiArray, Header, JointState, Time};
use crate::node::planner::PolicyPlanner;
use crate::node::{Controller, NodeParams};
use crate::policy::deployment::{Action, Deployment, Dy0, ObservationKind, FORMAT};
use crate::policy::Policy;
use crate::ros::{ParamMap, ParamValue};

/// What the environment's actions are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EnvActions {
    /// Position changes per step, in units of this many positions (Meta-World, the built-in
    /// tasks: 0.01 m): the action is (command - position) / scale.
    Deltas(f64),
    /// Absolute joint positions (bridges/ros_arm): the action is the command.
    Positions,
}

/// How trajectory points map to the environment's actions.
#[derive(Clone, Debug)]
pub struct SimActions {
    /// Observation index of each DoF's position (y0).
    pub position_index: Vec<usize>,
    /// Position change per unit action (Meta-World and the built-in tasks: 0.01 m).
    pub action_scale: f64,
}

/// The node's parameters for serving `policy` on an environment's observation vector: one
/// tick per environment step, a plan spanning dmp.t steps (as in training), no limits.
fn node_params(policy: &Policy) -> Result<NodeParams> {
    let dof = policy.config().dof;
    let t = policy.dmp_config().t;
    let mut m = ParamMap::new();
    m.insert(
        "checkpoint".into(),
        ParamValue::String("(in memory)".into()),
    );
    m.insert(
        "joint_names".into(),
        ParamValue::StringArray((0..dof).map(|d| format!("dof{d}")).collect()),
    );
    m.insert("observation".into(), ParamValue::String("vector".into()));
    m.insert("output".into(), ParamValue::String("float64_array".into()));
    m.insert("rate_hz".into(), ParamValue::Double(t as f64));
    m.insert("plan_duration_s".into(), ParamValue::Double(1.0));
    m.insert("input_timeout_s".into(), ParamValue::Double(60.0));
    NodeParams::from_map(&m)
}

/// Runs `episodes` episodes (seeds seed, seed + 1, ...) of a behaviour-cloned policy (dy0 the
/// config's constant, positions at `map.position_index`); an episode succeeds if the success
/// flag is ever set.
pub fn policy_success(
    policy: &Policy,
    envs: &mut VecEnv,
    episodes: usize,
    seed: u64,
    map: &SimActions,
) -> Result<f64> {
    let mut d = policy_deployment(policy);
    d.position_index = map.position_index.iter().map(|&i| Some(i)).collect();
    bundle_success(
        policy,
        &d,
        envs,
        episodes,
        seed,
        EnvActions::Deltas(map.action_scale),
    )
}

/// The contract of a behaviour-cloned policy evaluated on an environment's observation.
fn policy_deployment(policy: &Policy) -> Deployment {
    Deployment {
        format: FORMAT,
        trainer: "bc".into(),
        plan_duration_s: None,
        // Behaviour cloning rolls every target out from the config's constant dy0.
        dy0: Dy0::Constant(policy.config().dy0),
        action: Action::Positions,
        observation: ObservationKind::Vector,
        joint_names: vec![],
        image_side: None,
        vector_size: Some(policy.config().input_size),
        normalization: None,
        position_scale: 1.0,
        position_index: vec![],
        prev_index: vec![],
    }
}

/// Success rate of a served bundle (a policy and its deploy.yaml) on an environment: the
/// observation vector and the positions (and velocities, by difference) its contract names
/// go in; each command becomes the action as `actions` says.
pub fn bundle_success(
    policy: &Policy,
    deploy: &Deployment,
    envs: &mut VecEnv,
    episodes: usize,
    seed: u64,
    actions: EnvActions,
) -> Result<f64> {
    let dof = policy.config().dof;
    if dof != deploy.position_index.len() {
        return Err(Error::invalid(
            "position_index",
            format!(
                "the policy has {dof} DoF, {} positions given",
                deploy.position_index.len()
            ),
        ));
    }
    let spec = envs.spec().clone();
    if dof > spec.act_dim {
        return Err(Error::invalid(
            "model.dof",
            format!(
                "{dof} DoF but the environment takes {} actions",
                spec.act_dim
            ),
        ));
    }
    let indices = deploy.position_index.iter().chain(&deploy.prev_index);
    if let Some(i) = indices.flatten().find(|&&i| i >= spec.obs_dim) {
        return Err(Error::invalid(
            "deploy.yaml position_index / prev_index",
            format!("index {i} beyond the {}-value observation", spec.obs_dim),
        ));
    }
    let params = node_params(policy)?;
    let period_ns = (1e9 / params.rate_hz).round() as i64;
    let mut successes = 0;
    for ep in 0..episodes {
        let mut planner = PolicyPlanner::new(policy.clone(), &params)?;
        planner.set_normalization(deploy.normalization.clone())?;
        let mut ctl = Controller::new(params.clone(), planner, policy.dmp_config(), 0)?;
        ctl.set_dy0(deploy.dy0);
        ctl.set_position_scale(deploy.position_scale);
        let mut obs = envs.reset(0, Some(seed + ep as u64))?;
        let mut success = false;
        for step in 0..spec.max_steps {
            let now = Time::from_nanos(step as i64 * period_ns);
            let at = |i: Option<usize>| i.map_or(0.0, |i| obs[i]);
            let pos: Vec<f64> = deploy.position_index.iter().map(|&i| at(i)).collect();
            let vel: Vec<f64> = (0..dof)
                .map(|d| {
                    match (
                        deploy.position_index[d],
                        deploy.prev_index.get(d).copied().flatten(),
                    ) {
                        (Some(i), Some(p)) => (obs[i] - obs[p]) * params.rate_hz,
                        _ => 0.0,
                    }
                })
                .collect();
            ctl.on_joint_state(&joint_state(&params, &pos, &vel), now);
            ctl.on_vector(
                &Float64MultiArray {
                    data: obs.clone(),
                    ..Default::default()
                },
                now,
            );
            if !ctl.tick(now).command {
                break; // refused inputs (NaN observations): the episode ends unsuccessful
            }
            let mut a = vec![0.0; spec.act_dim];
            for (d, ad) in a.iter_mut().enumerate().take(dof) {
                let cmd = ctl.setpoint().positions[d];
                *ad = match actions {
                    EnvActions::Deltas(scale) => (cmd - pos[d]) / scale,
                    EnvActions::Positions => cmd,
                };
            }
            let s = envs
                .step(&[Some(a)])?
                .pop()
                .flatten()
                .expect("one instance");
            if !s.obs.iter().all(|v| v.is_finite()) {
                break;
            }
            success |= s.success;
            obs = s.obs;
            if s.terminated || s.truncated {
                break;
            }
        }
        successes += success as usize;
    }
    Ok(successes as f64 / episodes.max(1) as f64)
}

fn joint_state(p: &NodeParams, pos: &[f64], vel: &[f64]) -> JointState {
    JointState {
        header: Header::default(),
        name: p.joint_names.clone(),
        position: pos.to_vec(),
        velocity: vel.to_vec(),
        effort: vec![],
    }
}
