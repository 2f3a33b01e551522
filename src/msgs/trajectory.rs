//! trajectory_msgs: what joint_trajectory_controller reads on `~/joint_trajectory`.

use serde::{Deserialize, Serialize};

use super::builtin::Duration;
use super::std_msgs::Header;

/// trajectory_msgs/msg/JointTrajectoryPoint
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectoryPoint {
    pub positions: Vec<f64>,
    pub velocities: Vec<f64>,
    pub accelerations: Vec<f64>,
    pub effort: Vec<f64>,
    pub time_from_start: Duration,
}

/// trajectory_msgs/msg/JointTrajectory (header.stamp zero: start on receipt).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JointTrajectory {
    pub header: Header,
    pub joint_names: Vec<String>,
    pub points: Vec<JointTrajectoryPoint>,
}

super::ros_message!(
    JointTrajectoryPoint,
    "trajectory_msgs",
    "JointTrajectoryPoint"
);
super::ros_message!(JointTrajectory, "trajectory_msgs", "JointTrajectory");
