//! A robot in Gazebo (gz sim) as a reach task, through ros_gz_bridge by the ros_gz topic
//! conventions, over any `Transport`:
//!   joint states   sensor_msgs/JointState on `joint_states` (ros_gz_bridge from gz's
//!                  JointStatePublisher, /world/W/model/M/joint_state), stamped in sim time;
//!   commands       std_msgs/Float64 per joint on `command` with `{joint}` replaced (gz's
//!                  JointPositionController listens on /model/M/joint/J/0/cmd_pos, bridged
//!                  from a ROS topic as std_msgs/msg/Float64 <-> gz.msgs.Double).
//! Every topic here is a ROS topic name: gz topic names are often not valid ROS names (gz's
//! `/model/M/joint/J/0/cmd_pos` has a token starting with a digit, which ROS 2 refuses), so the
//! ros_gz_bridge config maps each `gz_topic_name` to a valid `ros_topic_name`, and this config
//! names only the ROS side (bridges/gazebo/bridge.yaml and config/ppo_gazebo.yaml). A name that
//! is not a valid ROS 2 name is a config error naming the key.
//! The task: move the configured joints to a goal drawn from a box (joint space; for a
//! Cartesian robot that is the end effector's space). Observation [q, dq, goal], action in
//! [-1, 1] per joint moving its commanded target by `action_scale` (from the previous target,
//! not the measured position, so a controller's steady-state error never makes the joints
//! drift), reward -|q - goal|, success within `success_radius`. A step lasts `step_s` of
//! simulation time, measured by the joint states' stamps (so a paused or slow simulator is
//! waited for, not raced); states queued while the trainer was busy are skipped, every step
//! starts from the newest. Reset drives the joints to `home` and waits until they settle: our
//! transports have no service client, so gz's world-reset service (/world/W/control) is not
//! used.
//!
//! Gazebo cannot run here (no Gazebo in Debian 12): test/gazebo.rs checks this mapping against
//! a fake simulator speaking the same topics.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{Env, EnvSpec, Step};
use crate::data::ros_input::{reorder, JointSnapshot, Reject};
use crate::error::{Error, Result};
use crate::msgs::{Float64, JointState};
use crate::ros::blocking::subscribe_blocking;
use crate::ros::names::{validate_namespace, validate_topic_name};
use crate::ros::{Publisher, Qos, Transport};

/// `env.gazebo`: the robot's topics and the reach task on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GazeboConfig {
    /// Prefix of instance i's topics (`{i}` replaced by the index; "" for one robot), a ROS
    /// namespace.
    #[serde(default)]
    pub namespace: String,
    /// The joints the policy moves, in observation and action order.
    pub joints: Vec<String>,
    /// ROS topic of the joint states (ros_gz_bridge's `ros_topic_name` for gz's
    /// JointStatePublisher topic).
    #[serde(default = "default_joint_states")]
    pub joint_states: String,
    /// Per-joint ROS command topic; `{joint}` is replaced by the joint name (ros_gz_bridge's
    /// `ros_topic_name` for each joint's JointPositionController topic, not the gz name).
    pub command: String,
    /// Simulation seconds per environment step.
    #[serde(default = "default_step_s")]
    pub step_s: f64,
    /// Target move per step for an action of 1 (joint units: m or rad).
    #[serde(default = "default_action_scale")]
    pub action_scale: f64,
    /// Where a reset drives the joints.
    pub home: Vec<f64>,
    /// The box goals are drawn from.
    pub goal_low: Vec<f64>,
    pub goal_high: Vec<f64>,
    #[serde(default = "default_success_radius")]
    pub success_radius: f64,
    /// How close to `home` the joints must come for a reset to finish.
    #[serde(default = "default_settle")]
    pub settle_tolerance: f64,
    /// Wall seconds to wait for the simulator before failing.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
}

fn default_joint_states() -> String {
    "/joint_states".into()
}
fn default_step_s() -> f64 {
    0.05
}
fn default_action_scale() -> f64 {
    0.01
}
fn default_success_radius() -> f64 {
    0.05
}
fn default_settle() -> f64 {
    0.01
}
fn default_timeout() -> f64 {
    10.0
}

impl GazeboConfig {
    pub fn validate(&self) -> Result<()> {
        let key = |k: &str| format!("env.gazebo.{k}");
        if self.joints.is_empty() {
            return Err(Error::invalid(key("joints"), "needs at least one joint"));
        }
        let n = self.joints.len();
        for (name, v) in [
            ("home", &self.home),
            ("goal_low", &self.goal_low),
            ("goal_high", &self.goal_high),
        ] {
            if v.len() != n {
                return Err(Error::invalid(
                    key(name),
                    format!("has {} values for {n} joints", v.len()),
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid(key(name), "must be finite"));
            }
        }
        if let Some(j) = (0..n).find(|&j| self.goal_low[j] > self.goal_high[j]) {
            return Err(Error::invalid(
                key("goal_low"),
                format!("above goal_high for joint `{}`", self.joints[j]),
            ));
        }
        if !self.command.contains("{joint}") {
            return Err(Error::invalid(
                key("command"),
                "must contain `{joint}` (one topic per joint)",
            ));
        }
        self.validate_names()?;
        for (name, v) in [
            ("step_s", self.step_s),
            ("action_scale", self.action_scale),
            ("success_radius", self.success_radius),
            ("settle_tolerance", self.settle_tolerance),
            ("timeout_s", self.timeout_s),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(key(name), "must be > 0"));
            }
        }
        Ok(())
    }

    /// Every topic (instance 0's: `{i}` can only make a token start with a digit where it
    /// starts one, for every index) must be a valid ROS 2 name; the error names the key.
    fn validate_names(&self) -> Result<()> {
        const GZ_HINT: &str = " (a gz topic name goes in the ros_gz_bridge config's \
                               gz_topic_name, mapped to a valid ros_topic_name; this config \
                               takes the ROS name)";
        let bad = |k: &str, what: String, why: String, hint: &str| {
            Err(Error::invalid(
                format!("env.gazebo.{k}"),
                format!("{what} is not a valid ROS 2 name: {why}{hint}"),
            ))
        };
        if !self.namespace.is_empty() {
            // Relative or absolute, with or without a trailing `/`: a prefix either way.
            let ns = self.namespace.replace("{i}", "0");
            let abs = format!("/{}", ns.trim_start_matches('/'));
            let abs = match abs.trim_end_matches('/') {
                "" => "/",
                t => t,
            };
            if let Err(e) = validate_namespace(abs) {
                return bad("namespace", format!("`{ns}` (instance 0)"), e.0, "");
            }
        }
        let states = self.topic(0, &self.joint_states);
        if let Err(e) = validate_topic_name(&states) {
            return bad("joint_states", format!("`{states}`"), e.0, GZ_HINT);
        }
        for j in &self.joints {
            let topic = self.command_topic(0, j);
            if let Err(e) = validate_topic_name(&topic) {
                return bad("command", format!("`{topic}` (joint `{j}`)"), e.0, GZ_HINT);
            }
        }
        Ok(())
    }

    /// Instance `index`'s topic for `topic` (under the namespace, `{i}` replaced).
    pub fn topic(&self, index: usize, topic: &str) -> String {
        let ns = self.namespace.replace("{i}", &index.to_string());
        let ns = ns.trim_end_matches('/');
        if ns.is_empty() {
            topic.to_string()
        } else {
            format!("{ns}/{}", topic.trim_start_matches('/'))
        }
    }

    /// Instance `index`'s command topic of `joint`.
    pub fn command_topic(&self, index: usize, joint: &str) -> String {
        self.topic(index, &self.command.replace("{joint}", joint))
    }
}

/// One robot in Gazebo as an `Env`.
pub struct GazeboEnv {
    cfg: GazeboConfig,
    spec: EnvSpec,
    states_topic: String,
    states: Receiver<JointState>,
    commands: Vec<Box<dyn Publisher<Float64>>>,
    rng: StdRng,
    goal: Vec<f64>,
    /// The commanded joint targets.
    targets: Vec<f64>,
    /// The latest joint state (controller order) and its sim-time stamp in seconds.
    last: JointSnapshot,
    stamp: f64,
    steps: usize,
    /// Sim time the pending step ends at.
    until: Option<f64>,
    /// Joint states skipped for NaN or Inf.
    pub nan_dropped: u64,
}

impl GazeboEnv {
    /// Subscribes and advertises instance `index`'s topics; waits for a first joint state.
    pub fn connect<T: Transport>(
        t: &T,
        cfg: &GazeboConfig,
        index: usize,
        max_steps: usize,
        seed: u64,
    ) -> Result<Self> {
        cfg.validate()?;
        let states_topic = cfg.topic(index, &cfg.joint_states);
        let commands = cfg
            .joints
            .iter()
            .map(|j| t.publisher::<Float64>(&cfg.command_topic(index, j), Qos::DEFAULT))
            .collect::<Result<Vec<_>>>()?;
        let n = cfg.joints.len();
        let mut env = GazeboEnv {
            spec: EnvSpec {
                obs_dim: 3 * n,
                act_dim: n,
                max_steps,
            },
            states: subscribe_blocking(t, &states_topic, Qos::SENSOR_DATA, "gazebo-joint-states")?,
            states_topic,
            commands,
            rng: StdRng::seed_from_u64(seed),
            goal: cfg.home.clone(),
            targets: cfg.home.clone(),
            last: JointSnapshot {
                positions: vec![0.0; n],
                velocities: vec![0.0; n],
            },
            stamp: f64::NEG_INFINITY,
            steps: 0,
            until: None,
            nan_dropped: 0,
            cfg: cfg.clone(),
        };
        env.next_state(Instant::now() + env.timeout(), "a first joint state")?;
        Ok(env)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.cfg.timeout_s)
    }

    /// Waits for the next usable joint state: NaN ones are skipped and counted, a missing
    /// joint or a malformed message is an error naming the topic.
    fn next_state(&mut self, deadline: Instant, waiting_for: &str) -> Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match self.states.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::invalid(
                        self.states_topic.clone(),
                        format!(
                            "no joint state within {} s while waiting for {waiting_for} (is the \
                             simulator running, unpaused and bridged?)",
                            self.cfg.timeout_s
                        ),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::invalid(
                        self.states_topic.clone(),
                        "the subscription ended",
                    ))
                }
            };
            if self.accept(&msg)? {
                return Ok(());
            }
        }
    }

    /// Takes `msg` as the latest state: false (skipped, counted) for NaN or Inf, an error
    /// naming the topic for a missing joint or a malformed message.
    fn accept(&mut self, msg: &JointState) -> Result<bool> {
        match reorder(msg, &self.cfg.joints, &self.states_topic) {
            Ok(s) => {
                self.last = s;
                self.stamp = msg.header.stamp.nanos() as f64 * 1e-9;
                Ok(true)
            }
            Err(Reject::NonFinite(why)) => {
                self.nan_dropped += 1;
                tracing::warn!("skipped a joint state: {why}");
                Ok(false)
            }
            Err(e) => Err(Error::invalid(self.states_topic.clone(), e.to_string())),
        }
    }

    /// Skips to the newest queued joint state (those that arrived while the trainer was busy
    /// are stale).
    fn drain(&mut self) -> Result<()> {
        let mut newest = None;
        while let Ok(m) = self.states.try_recv() {
            newest = Some(m);
        }
        if let Some(msg) = newest {
            self.accept(&msg)?;
        }
        Ok(())
    }

    fn publish_targets(&self, targets: &[f64]) -> Result<()> {
        for (p, &x) in self.commands.iter().zip(targets) {
            p.publish(&Float64 { data: x })?;
        }
        Ok(())
    }

    fn distance(&self) -> f64 {
        self.last
            .positions
            .iter()
            .zip(&self.goal)
            .map(|(q, g)| (q - g) * (q - g))
            .sum::<f64>()
            .sqrt()
    }

    fn observation(&self) -> Vec<f64> {
        let mut obs = Vec::with_capacity(self.spec.obs_dim);
        obs.extend(&self.last.positions);
        obs.extend(&self.last.velocities);
        obs.extend(&self.goal);
        obs
    }

    /// The goal of the current episode.
    pub fn goal(&self) -> &[f64] {
        &self.goal
    }

    /// Sim time of the latest joint state, in seconds.
    pub fn sim_time(&self) -> f64 {
        self.stamp
    }
}

impl Env for GazeboEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>> {
        if let Some(s) = seed {
            self.rng = StdRng::seed_from_u64(s);
        }
        let (lo, hi) = (&self.cfg.goal_low, &self.cfg.goal_high);
        self.goal = (0..lo.len())
            .map(|j| lo[j] + (hi[j] - lo[j]) * self.rng.random::<f64>())
            .collect();
        self.steps = 0;
        self.until = None;
        let home = self.cfg.home.clone();
        self.targets = home.clone();
        let deadline = Instant::now() + self.timeout();
        self.drain()?;
        loop {
            // Re-sent with every state: a command published before discovery is lost.
            self.publish_targets(&home)?;
            self.next_state(deadline, "the joints to settle at `home`")?;
            self.drain()?;
            let off = self
                .last
                .positions
                .iter()
                .zip(&home)
                .map(|(q, h)| (q - h).abs())
                .fold(0.0, f64::max);
            if off <= self.cfg.settle_tolerance {
                return Ok(self.observation());
            }
        }
    }

    fn send_step(&mut self, action: &[f64]) -> Result<()> {
        if action.len() != self.spec.act_dim {
            return Err(Error::Shape {
                what: "Gazebo action".into(),
                expected: self.spec.act_dim.to_string(),
                got: action.len().to_string(),
            });
        }
        self.drain()?;
        for (t, a) in self.targets.iter_mut().zip(action) {
            let a = if a.is_finite() {
                a.clamp(-1.0, 1.0)
            } else {
                0.0
            };
            *t += a * self.cfg.action_scale;
        }
        self.publish_targets(&self.targets)?;
        self.until = Some(self.stamp + self.cfg.step_s);
        Ok(())
    }

    fn recv_step(&mut self) -> Result<Step> {
        let until = self
            .until
            .take()
            .ok_or_else(|| Error::invalid("Gazebo env", "recv_step without send_step"))?;
        let deadline = Instant::now() + self.timeout();
        // Stamps are sim time: the step is over once the simulator has run `step_s`.
        while self.stamp + 1e-9 < until {
            self.next_state(deadline, "the step's sim time to pass")?;
        }
        self.steps += 1;
        let d = self.distance();
        Ok(Step {
            obs: self.observation(),
            reward: -d,
            terminated: false,
            truncated: self.steps >= self.spec.max_steps,
            success: d < self.cfg.success_radius,
        })
    }

    /// Moves the target straight at the goal at full speed: the demonstration policy for
    /// behaviour cloning.
    fn expert_action(&mut self) -> Result<Option<Vec<f64>>> {
        let s = self.cfg.action_scale;
        Ok(Some(
            self.targets
                .iter()
                .zip(&self.goal)
                .map(|(q, g)| ((g - q) / s).clamp(-1.0, 1.0))
                .collect(),
        ))
    }
}
