//! std_msgs: Header, Float64 and Float64MultiArray.

use serde::{Deserialize, Serialize};

use super::builtin::Time;

/// std_msgs/msg/Header
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub stamp: Time,
    pub frame_id: String,
}

/// std_msgs/msg/MultiArrayDimension
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiArrayDimension {
    pub label: String,
    pub size: u32,
    pub stride: u32,
}

/// std_msgs/msg/MultiArrayLayout
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiArrayLayout {
    pub dim: Vec<MultiArrayDimension>,
    pub data_offset: u32,
}

/// std_msgs/msg/Float64MultiArray: what forward_command_controller reads on `~/commands`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Float64MultiArray {
    pub layout: MultiArrayLayout,
    pub data: Vec<f64>,
}

/// std_msgs/msg/Float64: one joint's command to a Gazebo JointPositionController through
/// ros_gz_bridge (gz.msgs.Double).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Float64 {
    pub data: f64,
}

super::ros_message!(Header, "std_msgs", "Header");
super::ros_message!(Float64, "std_msgs", "Float64");
super::ros_message!(MultiArrayDimension, "std_msgs", "MultiArrayDimension");
super::ros_message!(MultiArrayLayout, "std_msgs", "MultiArrayLayout");
super::ros_message!(Float64MultiArray, "std_msgs", "Float64MultiArray");
