//! rosgraph_msgs: the simulation clock on /clock (published by Gazebo's bridge or a simulator
//! when nodes run with use_sim_time).

use serde::{Deserialize, Serialize};

use super::builtin::Time;

/// rosgraph_msgs/msg/Clock
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub clock: Time,
}

super::ros_message!(Clock, "rosgraph_msgs", "Clock");
