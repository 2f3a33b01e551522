//! Environments with Meta-World's interface: `reset(seed)` gives an observation, `step(action)`
//! gives observation, reward, terminated, truncated and a success flag. Built-in Rust tasks
//! (fast, deterministic) serve tests and CI; simulator bridges serve Meta-World and Gazebo.
//!
//! Knows nothing of networks: the trainer (src/train/ppo) drives a `VecEnv` of these.

pub mod bridge;
pub mod config;
pub mod gazebo;
mod hand;
pub mod push;
pub mod reach;
pub mod ros_bridge;
pub mod vec_env;

pub use config::{EnvConfig, Task};
pub use vec_env::VecEnv;

use crate::error::Result;

/// What an environment reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvSpec {
    /// Observation length (39 for Meta-World and the built-in tasks).
    pub obs_dim: usize,
    /// Action length (4: xyz hand move and gripper), each in [-1, 1].
    pub act_dim: usize,
    /// Steps before `truncated` (Meta-World v3: 500).
    pub max_steps: usize,
}

/// The outcome of one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub obs: Vec<f64>,
    pub reward: f64,
    /// The task ended (never for Meta-World: its episodes only truncate).
    pub terminated: bool,
    /// The step limit was reached.
    pub truncated: bool,
    /// The task's success criterion holds now (Meta-World's `info["success"]`).
    pub success: bool,
}

/// One environment instance. Stepping is split in two so that a vector of remote bridges
/// computes in parallel: every `send_step` goes out before the first `recv_step` waits.
pub trait Env: Send {
    fn spec(&self) -> &EnvSpec;
    /// Starts an episode; `Some(seed)` makes it reproducible, `None` continues the stream.
    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>>;
    /// Starts a step with `action` (clipped to the action bounds: [-1, 1] unless a bridge
    /// declares others).
    fn send_step(&mut self, action: &[f64]) -> Result<()>;
    /// Finishes the step started by `send_step`.
    fn recv_step(&mut self) -> Result<Step>;
    /// One whole step.
    fn step(&mut self, action: &[f64]) -> Result<Step> {
        self.send_step(action)?;
        self.recv_step()
    }
    /// The scripted expert's action for the current state, where the task has one
    /// (demonstrations for behaviour cloning).
    fn expert_action(&mut self) -> Result<Option<Vec<f64>>> {
        Ok(None)
    }
}

/// Makes one instance of the configured task; instance `i` of a vector gets its own stream.
pub fn make(cfg: &EnvConfig, index: usize) -> Result<Box<dyn Env>> {
    let seed = cfg.seed.wrapping_add(1_000_003 * index as u64);
    Ok(match &cfg.task {
        Task::Reach => Box::new(reach::Reach::new(cfg.max_steps, seed)),
        Task::Push => Box::new(push::Push::new(cfg.max_steps, seed)),
        Task::Bridge => {
            let b = cfg
                .bridge
                .as_ref()
                .ok_or_else(|| crate::Error::invalid("env.bridge", "task `bridge` needs it"))?;
            Box::new(bridge::BridgeEnv::connect(b, cfg, index)?)
        }
        Task::RosBridge => ros_bridge_instance(cfg, index)?,
        Task::Gazebo => gazebo_instance(cfg, index, seed)?,
    })
}

/// Instance `index` of a `gazebo` task on its own node.
fn gazebo_instance(cfg: &EnvConfig, index: usize, seed: u64) -> Result<Box<dyn Env>> {
    let g = cfg
        .gazebo
        .as_ref()
        .ok_or_else(|| crate::Error::invalid("env.gazebo", "task `gazebo` needs it"))?;
    let t = instance_node("gazebo", "ndp_gazebo", index)?;
    Ok(Box::new(gazebo::GazeboEnv::connect(
        t,
        g,
        index,
        cfg.max_steps,
        seed,
    )?))
}

/// Instance `index` of a `ros_bridge` task on its own node.
fn ros_bridge_instance(cfg: &EnvConfig, index: usize) -> Result<Box<dyn Env>> {
    let b = cfg
        .ros_bridge
        .as_ref()
        .ok_or_else(|| crate::Error::invalid("env.ros_bridge", "task `ros_bridge` needs it"))?;
    let ns = b.namespace.replace("{i}", &index.to_string());
    let t = instance_node("ros_bridge", "ndp_trainer", index)?;
    Ok(Box::new(ros_bridge::RosBridgeEnv::connect(
        t,
        &ns,
        b.timeout_s,
    )?))
}

/// A node on the embedded DDS transport for one instance of a ROS-connected task
/// (ROS_DOMAIN_ID and ROS_LOCALHOST_ONLY as ROS 2 reads them). It must outlive the instance:
/// it is kept for the life of the process.
#[cfg(feature = "dds")]
fn instance_node(
    _task: &str,
    prefix: &str,
    index: usize,
) -> Result<&'static crate::ros::dds::DdsTransport> {
    use crate::ros::dds::{DdsOptions, DdsTransport};
    let t = DdsTransport::new(
        &DdsOptions::from_env()?,
        "/",
        &format!("{prefix}_{}_{index}", std::process::id()),
        Default::default(),
    )?;
    Ok(Box::leak(Box::new(t)))
}

#[cfg(not(feature = "dds"))]
fn instance_node(
    task: &str,
    _: &str,
    _: usize,
) -> Result<&'static crate::ros::memory::MemoryTransport> {
    Err(crate::Error::invalid(
        "env.task",
        format!("`{task}` needs the embedded transport (cargo feature `dds`)"),
    ))
}
