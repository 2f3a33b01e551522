//! The package's own messages (msg/). Their ROS package is `ndp_ros_msgs`, because r2r cannot
//! use messages defined in the package that uses them (see README, "r2r").

use serde::{Deserialize, Serialize};

use super::std_msgs::Header;

/// ndp_ros_msgs/msg/DmpPlan (msg/DmpPlan.msg): one policy output and where it starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DmpPlan {
    pub header: Header,
    pub joint_names: Vec<String>,
    pub y0: Vec<f64>,
    pub dy0: Vec<f64>,
    pub g: Vec<f64>,
    pub w: Vec<f64>,
    pub n_basis: u32,
    pub k: u32,
    pub a_z: f64,
    pub a_x: f64,
    pub dt: f64,
}

super::ros_message!(DmpPlan, "ndp_ros_msgs", "DmpPlan");
