//! The node's parameters: each declared with a description and a range, validated at start-up
//! with an error naming the parameter (as ros2_controllers do). Unknown parameters are errors.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::ros::{ParamMap, ParamValue, Qos};

/// What the network reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObservationMode {
    /// The camera image (the joint state still gives the DMP's start).
    Image,
    /// The joint state (positions, or positions and velocities, as the model's input size says).
    State,
    /// Image and joint state together (a `cnn_state` model).
    Both,
    /// A Float64MultiArray observation vector (a simulator's observation, as the bridges
    /// publish it); the joint state still gives the DMP's start.
    Vector,
}

/// What the node publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// trajectory_msgs/JointTrajectory with the next k points, once per policy call
    /// (joint_trajectory_controller).
    JointTrajectory,
    /// std_msgs/Float64MultiArray with one setpoint per tick (forward position controllers).
    Float64Array,
    /// geometry_msgs/PoseStamped with one end-effector position per tick (MoveIt Servo,
    /// Cartesian controllers); the first three DoF are x, y, z.
    Pose,
}

/// One declared parameter.
pub struct Spec {
    pub name: &'static str,
    pub description: &'static str,
    pub default: &'static str,
    pub range: &'static str,
}

/// Every parameter the node accepts (`ndp_policy --help` prints this table).
pub const SPECS: &[Spec] = &[
    Spec { name: "checkpoint", description: "run directory with config.yaml and model.safetensors", default: "(required)", range: "an existing directory" },
    Spec { name: "observation", description: "what the network reads (both: a cnn_state model; vector: a Float64MultiArray observation)", default: "state", range: "image | state | both | vector" },
    Spec { name: "observation_topic", description: "std_msgs/Float64MultiArray observation input (observation: vector)", default: "observation", range: "a topic name" },
    Spec { name: "joint_names", description: "joints in controller order (the DMP's DoF order)", default: "(required)", range: "as many as the model's DoF" },
    Spec { name: "joint_state_topic", description: "sensor_msgs/JointState input", default: "joint_states", range: "a topic name" },
    Spec { name: "image_topic", description: "sensor_msgs/Image input (rgb8, bgr8, mono8)", default: "camera/image_raw", range: "a topic name" },
    Spec { name: "ee_pose_topic", description: "geometry_msgs/PoseStamped of the end effector (pose output: the DMP's start)", default: "ee_pose", range: "a topic name" },
    Spec { name: "output", description: "what is published", default: "joint_trajectory", range: "joint_trajectory | float64_array | pose" },
    Spec { name: "command_topic", description: "where commands go", default: "per output: joint_trajectory_controller/joint_trajectory, forward_position_controller/commands, servo_node/pose_target_cmds", range: "a topic name" },
    Spec { name: "rate_hz", description: "controller rate: DMP ticks per second", default: "100.0", range: "[1, 10000]" },
    Spec { name: "plan_duration_s", description: "seconds one DMP plan spans: the time the model was trained to cover (0: from the checkpoint, else dmp.t / rate_hz)", default: "0", range: "[0, 3600]" },
    Spec { name: "replan_period_s", description: "seconds between policy calls (0: plan_duration_s, as in training)", default: "0", range: "[0, 3600]" },
    Spec { name: "horizon_s", description: "seconds of plan in each JointTrajectory (0: twice the replan period, so the controller never runs dry)", default: "0", range: "[0, 3600]" },
    Spec { name: "substeps", description: "Euler sub-steps per tick (0: the checkpoint's dmp.substeps)", default: "0", range: "[0, 1000]" },
    Spec { name: "position_min", description: "lower position limit per joint (empty: none)", default: "[]", range: "one per joint" },
    Spec { name: "position_max", description: "upper position limit per joint (empty: none)", default: "[]", range: "one per joint, >= position_min" },
    Spec { name: "velocity_max", description: "speed limit per joint, units per second (empty: none); always holds", default: "[]", range: "one per joint, > 0" },
    Spec { name: "acceleration_max", description: "acceleration limit per joint, units per second^2 (empty: none)", default: "[]", range: "one per joint, > 0" },
    Spec { name: "input_timeout_s", description: "inputs older than this stop new targets (hold)", default: "0.5", range: "[0.001, 60]" },
    Spec { name: "image_width", description: "expected image width (0: any)", default: "0", range: "[0, 100000]" },
    Spec { name: "image_height", description: "expected image height (0: any)", default: "0", range: "[0, 100000]" },
    Spec { name: "image_max_bytes", description: "larger images are refused before decoding", default: "16777216", range: "[1, 1073741824]" },
    Spec { name: "memory_limit_mb", description: "the node's own data-memory ceiling (setrlimit RLIMIT_DATA; 0: none): a bound on what forged DDS fragments can take", default: "1024", range: "0, or [256, 1048576]" },
    Spec { name: "executor_cpu", description: "CPU the executor thread has to itself (-1: no pinning); every other thread of the node is moved to the other CPUs. On a kernel without full preemption, a thread in a long kernel path (page faults, memory returned) delays a real-time wake-up on its CPU by milliseconds", default: "-1", range: "-1 or [0, number of CPUs - 1]" },
    Spec { name: "realtime_priority", description: "SCHED_FIFO priority of the executor thread (0: normal scheduling); needs CAP_SYS_NICE or an rtprio limit, else a warning", default: "0", range: "[0, 99]" },
    Spec { name: "image_qos", description: "QoS of the image subscription", default: "sensor_data", range: "sensor_data | default" },
    Spec { name: "state_qos", description: "QoS of the joint-state and pose subscriptions", default: "default", range: "sensor_data | default" },
    Spec { name: "command_qos", description: "QoS of the command publisher", default: "default", range: "sensor_data | default" },
    Spec { name: "publish_plan", description: "also publish each DMP plan (ndp_ros_msgs/DmpPlan)", default: "false", range: "bool" },
    Spec { name: "plan_topic", description: "where DMP plans go", default: "~/dmp_plan", range: "a topic name" },
    Spec { name: "frame_id", description: "header.frame_id of published commands", default: "", range: "a frame name" },
    Spec { name: "pose_orientation", description: "fixed orientation (x, y, z, w) of pose commands", default: "[0, 0, 0, 1]", range: "a unit quaternion" },
    Spec { name: "enabled", description: "the policy on; false holds the robot (settable at run time, as are the limits and input_timeout_s)", default: "true", range: "bool" },
    Spec { name: "use_sim_time", description: "ROS time from /clock (rosgraph_msgs/Clock) for stamps and input timeouts; the loop still ticks at rate_hz of wall time", default: "false", range: "bool" },
];

/// Validated parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeParams {
    pub checkpoint: PathBuf,
    pub observation: ObservationMode,
    pub joint_names: Vec<String>,
    pub joint_state_topic: String,
    pub image_topic: String,
    pub observation_topic: String,
    pub ee_pose_topic: String,
    pub output: OutputMode,
    pub command_topic: String,
    pub rate_hz: f64,
    /// Seconds one plan spans; 0 until resolved against the checkpoint (`resolve_timing`).
    pub plan_duration_s: f64,
    pub replan_period_s: f64,
    pub horizon_s: f64,
    pub substeps: usize,
    pub position_min: Vec<f64>,
    pub position_max: Vec<f64>,
    pub velocity_max: Vec<f64>,
    pub acceleration_max: Vec<f64>,
    pub input_timeout_s: f64,
    pub image_max_bytes: usize,
    pub memory_limit_mb: usize,
    pub realtime_priority: usize,
    /// The executor's own CPU (None: no pinning).
    pub executor_cpu: Option<usize>,
    pub image_width: usize,
    pub image_height: usize,
    pub image_qos: Qos,
    pub state_qos: Qos,
    pub command_qos: Qos,
    pub publish_plan: bool,
    pub plan_topic: String,
    pub frame_id: String,
    pub pose_orientation: [f64; 4],
    pub use_sim_time: bool,
    pub enabled: bool,
}

/// The smallest `memory_limit_mb` a node starts under (DDS, the network, a camera frame).
pub const MIN_MEMORY_MB: usize = 256;

/// Parameters a running node accepts changes to (the safety limits, the watchdog and the
/// on/off switch); the rest are read at start-up only.
pub const RUNTIME: &[&str] = &[
    "enabled",
    "position_min",
    "position_max",
    "velocity_max",
    "acceleration_max",
    "input_timeout_s",
];

/// What `describe_parameters` says of each parameter: its description, range and default,
/// and whether it may change while the node runs.
pub fn descriptions() -> std::collections::BTreeMap<String, String> {
    SPECS
        .iter()
        .map(|s| {
            let when = if RUNTIME.contains(&s.name) {
                "may change while running"
            } else {
                "read at start-up"
            };
            (
                s.name.to_string(),
                format!(
                    "{} (range: {}; default: {}; {when})",
                    s.description, s.range, s.default
                ),
            )
        })
        .collect()
}

/// The check behind `set_parameters`: a value equal to the current one is fine; a start-up
/// parameter is refused with the reason; a run-time one must pass the start-up validation
/// together with all the others.
pub fn validator(initial: ParamMap) -> crate::ros::ParamValidator {
    let current = std::sync::Mutex::new(initial);
    Box::new(move |name: &str, value: &ParamValue| {
        let mut cur = current.lock().unwrap_or_else(|e| e.into_inner());
        if cur.get(name) == Some(value) {
            return Ok(());
        }
        if !RUNTIME.contains(&name) {
            return Err(format!(
                "{name} is read at start-up only: restart the node to change it (run-time: {})",
                RUNTIME.join(", ")
            ));
        }
        // A limit may change, not appear or vanish: `velocity_max: []` from a peer would
        // remove the speed limit of a running robot.
        let len = |v: Option<&ParamValue>| match v {
            Some(ParamValue::DoubleArray(a)) => Some(a.len()),
            Some(ParamValue::IntegerArray(a)) => Some(a.len()),
            Some(ParamValue::StringArray(a)) => Some(a.len()),
            _ => None,
        };
        if let (Some(a), Some(b)) = (len(cur.get(name)), len(Some(value))) {
            if a != b {
                return Err(format!(
                    "{name}: {b} values for the {a} in use; a limit cannot be switched on or off while running"
                ));
            }
        }
        let mut next = cur.clone();
        next.insert(name.to_string(), value.clone());
        NodeParams::from_map(&next).map_err(|e| e.to_string())?;
        *cur = next;
        Ok(())
    })
}

fn bad(name: &str, msg: String) -> Error {
    Error::invalid(format!("parameter {name}"), msg)
}

/// Typed access to the parameter map with errors naming the parameter.
struct Reader<'a>(&'a ParamMap);

impl Reader<'_> {
    fn wrong(&self, name: &str, want: &str, got: &ParamValue) -> Error {
        bad(
            name,
            format!("expected {want}, got {} {got}", got.type_name()),
        )
    }
    fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.0.get(name) {
            None => Ok(default.into()),
            Some(ParamValue::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.wrong(name, "a string", v)),
        }
    }
    fn f64(&self, name: &str, default: f64, lo: f64, hi: f64) -> Result<f64> {
        let v = match self.0.get(name) {
            None => default,
            Some(ParamValue::Double(d)) => *d,
            Some(ParamValue::Integer(i)) => *i as f64,
            Some(v) => return Err(self.wrong(name, "a double", v)),
        };
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return Err(bad(name, format!("{v} is outside [{lo}, {hi}]")));
        }
        Ok(v)
    }
    fn usize(&self, name: &str, default: usize, hi: usize) -> Result<usize> {
        match self.0.get(name) {
            None => Ok(default),
            Some(ParamValue::Integer(i)) if *i >= 0 && *i as usize <= hi => Ok(*i as usize),
            Some(ParamValue::Integer(i)) => Err(bad(name, format!("{i} is outside [0, {hi}]"))),
            Some(v) => Err(self.wrong(name, "an integer", v)),
        }
    }
    fn bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.0.get(name) {
            None => Ok(default),
            Some(ParamValue::Bool(b)) => Ok(*b),
            Some(v) => Err(self.wrong(name, "a bool", v)),
        }
    }
    fn strings(&self, name: &str) -> Result<Vec<String>> {
        match self.0.get(name) {
            None => Ok(vec![]),
            Some(ParamValue::StringArray(v)) => Ok(v.clone()),
            Some(v) => Err(self.wrong(name, "a string array", v)),
        }
    }
    fn doubles(&self, name: &str) -> Result<Vec<f64>> {
        let v = match self.0.get(name) {
            None => return Ok(vec![]),
            Some(ParamValue::DoubleArray(v)) => v.clone(),
            Some(ParamValue::IntegerArray(v)) => v.iter().map(|&i| i as f64).collect(),
            // `[]` parses as an empty string array.
            Some(ParamValue::StringArray(v)) if v.is_empty() => vec![],
            Some(v) => return Err(self.wrong(name, "a double array", v)),
        };
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(bad(name, format!("element {i} is not finite")));
        }
        Ok(v)
    }
    fn qos(&self, name: &str, default: &str) -> Result<Qos> {
        let s = self.string(name, default)?;
        Qos::from_name(&s)
            .ok_or_else(|| bad(name, format!("`{s}`: expected sensor_data or default")))
    }
}

impl NodeParams {
    pub fn from_map(map: &ParamMap) -> Result<Self> {
        if let Some(unknown) = map.keys().find(|k| !SPECS.iter().any(|s| s.name == *k)) {
            return Err(bad(
                unknown,
                "unknown parameter (see `ndp_policy --help`)".into(),
            ));
        }
        let r = Reader(map);
        let checkpoint = r.string("checkpoint", "")?;
        if checkpoint.is_empty() {
            return Err(bad(
                "checkpoint",
                "is required: the run directory of a trained model".into(),
            ));
        }
        let observation = match r.string("observation", "state")?.as_str() {
            "image" => ObservationMode::Image,
            "state" => ObservationMode::State,
            "both" => ObservationMode::Both,
            "vector" => ObservationMode::Vector,
            o => {
                return Err(bad(
                    "observation",
                    format!("`{o}`: expected image, state, both or vector"),
                ))
            }
        };
        let output = match r.string("output", "joint_trajectory")?.as_str() {
            "joint_trajectory" => OutputMode::JointTrajectory,
            "float64_array" => OutputMode::Float64Array,
            "pose" => OutputMode::Pose,
            o => {
                return Err(bad(
                    "output",
                    format!("`{o}`: expected joint_trajectory, float64_array or pose"),
                ))
            }
        };
        let default_cmd = match output {
            OutputMode::JointTrajectory => "joint_trajectory_controller/joint_trajectory",
            OutputMode::Float64Array => "forward_position_controller/commands",
            OutputMode::Pose => "servo_node/pose_target_cmds",
        };
        let joint_names = r.strings("joint_names")?;
        if joint_names.is_empty() {
            return Err(bad(
                "joint_names",
                "is required: the joints in controller order".into(),
            ));
        }
        if let Some(dup) = joint_names
            .iter()
            .enumerate()
            .find(|(i, n)| joint_names[..*i].contains(n))
        {
            return Err(bad("joint_names", format!("`{}` appears twice", dup.1)));
        }
        let n = joint_names.len();
        let per_joint = |name: &str, v: Vec<f64>| -> Result<Vec<f64>> {
            if !v.is_empty() && v.len() != n {
                return Err(bad(name, format!("has {} values for {n} joints", v.len())));
            }
            Ok(v)
        };
        let position_min = per_joint("position_min", r.doubles("position_min")?)?;
        let position_max = per_joint("position_max", r.doubles("position_max")?)?;
        if position_min.len() != position_max.len() {
            return Err(bad(
                "position_max",
                "set both position_min and position_max, or neither".into(),
            ));
        }
        if let Some(i) = (0..position_min.len()).find(|&i| position_min[i] > position_max[i]) {
            return Err(bad(
                "position_max",
                format!("joint `{}`: max < min", joint_names[i]),
            ));
        }
        let velocity_max = per_joint("velocity_max", r.doubles("velocity_max")?)?;
        if let Some(i) = velocity_max.iter().position(|v| *v <= 0.0) {
            return Err(bad(
                "velocity_max",
                format!("joint `{}`: must be > 0", joint_names[i]),
            ));
        }
        let acceleration_max = per_joint("acceleration_max", r.doubles("acceleration_max")?)?;
        if let Some(i) = acceleration_max.iter().position(|v| *v <= 0.0) {
            return Err(bad(
                "acceleration_max",
                format!("joint `{}`: must be > 0", joint_names[i]),
            ));
        }
        let q = r.doubles("pose_orientation")?;
        let pose_orientation = match q.as_slice() {
            [] => [0.0, 0.0, 0.0, 1.0],
            [x, y, z, w] if ((x * x + y * y + z * z + w * w).sqrt() - 1.0).abs() < 1e-3 => {
                [*x, *y, *z, *w]
            }
            _ => {
                return Err(bad(
                    "pose_orientation",
                    "expected a unit quaternion [x, y, z, w]".into(),
                ))
            }
        };
        if output == OutputMode::Pose && n < 3 {
            return Err(bad(
                "joint_names",
                "pose output needs at least 3 DoF (x, y, z)".into(),
            ));
        }
        Ok(NodeParams {
            checkpoint: PathBuf::from(checkpoint),
            observation,
            joint_state_topic: r.string("joint_state_topic", "joint_states")?,
            image_topic: r.string("image_topic", "camera/image_raw")?,
            observation_topic: r.string("observation_topic", "observation")?,
            ee_pose_topic: r.string("ee_pose_topic", "ee_pose")?,
            output,
            command_topic: r.string("command_topic", default_cmd)?,
            rate_hz: r.f64("rate_hz", 100.0, 1.0, 10_000.0)?,
            plan_duration_s: r.f64("plan_duration_s", 0.0, 0.0, 3600.0)?,
            replan_period_s: r.f64("replan_period_s", 0.0, 0.0, 3600.0)?,
            horizon_s: r.f64("horizon_s", 0.0, 0.0, 3600.0)?,
            substeps: r.usize("substeps", 0, 1000)?,
            position_min,
            position_max,
            velocity_max,
            acceleration_max,
            image_max_bytes: r.usize("image_max_bytes", 16 << 20, 1 << 30)?.max(1),
            memory_limit_mb: match r.usize("memory_limit_mb", 1024, 1 << 20)? {
                mb @ 1..MIN_MEMORY_MB => {
                    return Err(bad(
                        "memory_limit_mb",
                        format!("{mb} MiB is below the {MIN_MEMORY_MB} MiB the node needs to start (0: no limit)"),
                    ))
                }
                mb => mb,
            },
            realtime_priority: r.usize("realtime_priority", 0, 99)?,
            executor_cpu: match r.0.get("executor_cpu") {
                None | Some(ParamValue::Integer(-1)) => None,
                Some(_) => Some(r.usize("executor_cpu", 0, 1023)?),
            },
            input_timeout_s: r.f64("input_timeout_s", 0.5, 0.001, 60.0)?,
            image_width: r.usize("image_width", 0, 100_000)?,
            image_height: r.usize("image_height", 0, 100_000)?,
            image_qos: r.qos("image_qos", "sensor_data")?,
            state_qos: r.qos("state_qos", "default")?,
            command_qos: r.qos("command_qos", "default")?,
            publish_plan: r.bool("publish_plan", false)?,
            plan_topic: r.string("plan_topic", "~/dmp_plan")?,
            frame_id: r.string("frame_id", "")?,
            pose_orientation,
            use_sim_time: r.bool("use_sim_time", false)?,
            enabled: r.bool("enabled", true)?,
            joint_names,
        })
    }

    /// Every parameter with its value (defaults included), as the node declares them.
    pub fn to_map(&self) -> ParamMap {
        use ParamValue as V;
        let qos = |q: Qos| {
            V::String(
                if q == Qos::SENSOR_DATA {
                    "sensor_data"
                } else {
                    "default"
                }
                .into(),
            )
        };
        let doubles = |v: &[f64]| V::DoubleArray(v.to_vec());
        let obs = match self.observation {
            ObservationMode::Image => "image",
            ObservationMode::State => "state",
            ObservationMode::Both => "both",
            ObservationMode::Vector => "vector",
        };
        let out = match self.output {
            OutputMode::JointTrajectory => "joint_trajectory",
            OutputMode::Float64Array => "float64_array",
            OutputMode::Pose => "pose",
        };
        let entries = [
            (
                "checkpoint",
                V::String(self.checkpoint.display().to_string()),
            ),
            ("observation", V::String(obs.into())),
            (
                "observation_topic",
                V::String(self.observation_topic.clone()),
            ),
            ("joint_names", V::StringArray(self.joint_names.clone())),
            (
                "joint_state_topic",
                V::String(self.joint_state_topic.clone()),
            ),
            ("image_topic", V::String(self.image_topic.clone())),
            ("ee_pose_topic", V::String(self.ee_pose_topic.clone())),
            ("output", V::String(out.into())),
            ("command_topic", V::String(self.command_topic.clone())),
            ("rate_hz", V::Double(self.rate_hz)),
            ("plan_duration_s", V::Double(self.plan_duration_s)),
            ("replan_period_s", V::Double(self.replan_period_s)),
            ("horizon_s", V::Double(self.horizon_s)),
            ("substeps", V::Integer(self.substeps as i64)),
            ("position_min", doubles(&self.position_min)),
            ("position_max", doubles(&self.position_max)),
            ("velocity_max", doubles(&self.velocity_max)),
            ("acceleration_max", doubles(&self.acceleration_max)),
            ("input_timeout_s", V::Double(self.input_timeout_s)),
            ("image_width", V::Integer(self.image_width as i64)),
            ("image_height", V::Integer(self.image_height as i64)),
            ("image_max_bytes", V::Integer(self.image_max_bytes as i64)),
            ("memory_limit_mb", V::Integer(self.memory_limit_mb as i64)),
            (
                "realtime_priority",
                V::Integer(self.realtime_priority as i64),
            ),
            (
                "executor_cpu",
                V::Integer(self.executor_cpu.map_or(-1, |c| c as i64)),
            ),
            ("image_qos", qos(self.image_qos)),
            ("state_qos", qos(self.state_qos)),
            ("command_qos", qos(self.command_qos)),
            ("publish_plan", V::Bool(self.publish_plan)),
            ("plan_topic", V::String(self.plan_topic.clone())),
            ("frame_id", V::String(self.frame_id.clone())),
            ("pose_orientation", doubles(&self.pose_orientation)),
            ("use_sim_time", V::Bool(self.use_sim_time)),
            ("enabled", V::Bool(self.enabled)),
        ];
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Fills in the plan timing: `plan_duration_s` from the checkpoint's (the seconds its
    /// training samples spanned) when not set, else dmp.t controller ticks (the legacy
    /// convention, which plays a model at the node's rate: the caller warns). Then the replan
    /// period and the horizon. Returns where the duration came from.
    pub fn resolve_timing(
        &mut self,
        checkpoint_duration_s: Option<f64>,
        dmp_t: usize,
    ) -> &'static str {
        let from = if self.plan_duration_s > 0.0 {
            "parameter plan_duration_s"
        } else if let Some(d) = checkpoint_duration_s {
            self.plan_duration_s = d;
            "the checkpoint"
        } else {
            self.plan_duration_s = dmp_t as f64 / self.rate_hz;
            "dmp.t / rate_hz (the checkpoint does not record its time scale)"
        };
        if self.replan_period_s <= 0.0 {
            self.replan_period_s = self.plan_duration_s;
        }
        if self.horizon_s <= 0.0 {
            self.horizon_s = 2.0 * self.replan_period_s;
        }
        from
    }

    /// The parameter table, for `--help`.
    pub fn describe() -> String {
        SPECS
            .iter()
            .map(|s| {
                format!(
                    "  {:<18} {} [default {}; {}]\n",
                    s.name, s.description, s.default, s.range
                )
            })
            .collect()
    }
}
