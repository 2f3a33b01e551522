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
        match (&self.task, &self.bridge) {
            (Task::Bridge, None) => Err(Error::invalid(
                "env.bridge",
                "task `bridge` needs an `env.bridge` section (env_name, socket, ...)",
            )),
            (Task::Bridge, Some(b)) => b.validate(),
            (_, Some(_)) => Err(Error::invalid(
                "env.bridge",
                "only task `bridge` reads this section",
            )),
            _ => Ok(()),
        }?;
        match (&self.task, &self.ros_bridge) {
            (Task::RosBridge, None) => Err(Error::invalid(
                "env.ros_bridge",
                "task `ros_bridge` needs an `env.ros_bridge` section (namespace, timeout_s)",
            )),
            (Task::RosBridge, Some(b)) => b.validate(),
            (_, Some(_)) => Err(Error::invalid(
                "env.ros_bridge",
                "only task `ros_bridge` reads this section",
            )),
            _ => Ok(()),
        }?;
        match (&self.task, &self.gazebo) {
            (Task::Gazebo, None) => Err(Error::invalid(
                "env.gazebo",
                "task `gazebo` needs an `env.gazebo` section (joints, command, home, goal box)",
            )),
            (Task::Gazebo, Some(g)) => g.validate(),
            (_, Some(_)) => Err(Error::invalid(
                "env.gazebo",
                "only task `gazebo` reads this section",
            )),
            _ => Ok(()),
        }
    }
}
