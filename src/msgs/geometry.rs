//! geometry_msgs: PoseStamped, for Cartesian controllers and MoveIt Servo.

use serde::{Deserialize, Serialize};

use super::std_msgs::Header;

/// geometry_msgs/msg/Point
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// geometry_msgs/msg/Quaternion
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quaternion {
    pub x: f64,
    pub y: f64,
    pub z: f64,
    pub w: f64,
}

impl Default for Quaternion {
    fn default() -> Self {
        Quaternion {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 1.0,
        }
    }
}

/// geometry_msgs/msg/Pose
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    pub position: Point,
    pub orientation: Quaternion,
}

/// geometry_msgs/msg/PoseStamped
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoseStamped {
    pub header: Header,
    pub pose: Pose,
}

super::ros_message!(Point, "geometry_msgs", "Point");
super::ros_message!(Quaternion, "geometry_msgs", "Quaternion");
super::ros_message!(Pose, "geometry_msgs", "Pose");
super::ros_message!(PoseStamped, "geometry_msgs", "PoseStamped");
