//! The `env:` section of a PPO or data-collection config.

use serde::{Deserialize, Serialize};

use super::bridge::BridgeConfig;
use super::gazebo::GazeboConfig;
use super::ros_bridge::RosBridgeConfig;
use crate::error::{Error, Result};

/// Which task runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Built-in: a point hand reaches a random goal (Meta-World reach-v3's layout).
    Reach,
    /// Built-in: a point hand pushes a puck to a random goal (push-v3's layout).
    Push,
    /// A simulator bridge process (Meta-World) on this machine, under `env.bridge`.
    Bridge,
    /// A simulator answering over ROS 2 topics (any machine of the ROS network), under
    /// `env.ros_bridge`.
    RosBridge,
    /// A robot in Gazebo through ros_gz_bridge (reach to a goal in joint space), under
    /// `env.gazebo`.
    Gazebo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    pub task: Task,
    /// Steps per episode before truncation.
    #[serde(default = "default_max_steps")]
    pub max_steps: usize,
    /// Instances stepped together.
    #[serde(default = "default_num_envs")]
    pub num_envs: usize,
    /// Seed of instance 0; instance i gets its own stream derived from it.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub bridge: Option<BridgeConfig>,
    #[serde(default)]
    pub ros_bridge: Option<RosBridgeConfig>,
    #[serde(default)]
    pub gazebo: Option<GazeboConfig>,
}

fn default_max_steps() -> usize {
    150
}
fn default_num_envs() -> usize {
    8
}

impl EnvConfig {
    pub fn validate(&self) -> Result<()> {
        if self.max_steps == 0 {
            return Err(Error::invalid("env.max_steps", "must be at least 1"));
        }
        if self.num_envs == 0 {
            return Err(Error::invalid("env.num_envs", "must be at least 1"));
        }
        section(
            self.task == Task::Bridge,
            "bridge",
            "env_name, socket, ...",
            self.bridge.as_ref(),
            BridgeConfig::validate,
        )?;
        section(
            self.task == Task::RosBridge,
            "ros_bridge",
            "namespace, timeout_s",
            self.ros_bridge.as_ref(),
            RosBridgeConfig::validate,
        )?;
        section(
            self.task == Task::Gazebo,
            "gazebo",
            "joints, command, home, goal box",
            self.gazebo.as_ref(),
            GazeboConfig::validate,
        )
    }
}

/// The task-specific section `env.NAME`: required (and validated) when `ours` (the task is
/// `NAME`), refused otherwise.
fn section<S>(
    ours: bool,
    name: &str,
    keys: &str,
    given: Option<&S>,
    validate: impl Fn(&S) -> Result<()>,
) -> Result<()> {
    match (ours, given) {
        (true, None) => Err(Error::invalid(
            format!("env.{name}"),
            format!("task `{name}` needs an `env.{name}` section ({keys})"),
        )),
        (true, Some(s)) => validate(s),
        (false, Some(_)) => Err(Error::invalid(
            format!("env.{name}"),
            format!("only task `{name}` reads this section"),
        )),
        (false, None) => Ok(()),
    }
}
