//! ROS 2 message types as plain serde structs. Field order is the .msg order, so the structs
//! serialise to the same CDR as the C++/Python types; each carries its ROS type name.

mod builtin;
pub mod definition;
mod geometry;
mod ndp;
mod rosgraph;
mod sensor;
mod std_msgs;
mod trajectory;

pub use builtin::{Duration, Time};
pub use geometry::{Point, Pose, PoseStamped, Quaternion};
pub use ndp::DmpPlan;
pub use rosgraph::Clock;
pub use sensor::{Image, ImageRef, ImageView, JointState};
pub use std_msgs::{Float64, Float64MultiArray, Header, MultiArrayDimension, MultiArrayLayout};
pub use trajectory::{JointTrajectory, JointTrajectoryPoint};

/// A message type with its ROS name, e.g. `sensor_msgs/msg/JointState`.
pub trait RosMessage:
    serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static
{
    /// Interface package, e.g. `sensor_msgs`.
    const PACKAGE: &'static str;
    /// Type name within the package, e.g. `JointState`.
    const NAME: &'static str;

    /// `package/msg/Name`, the name ROS tools print.
    fn ros_type() -> String {
        format!("{}/msg/{}", Self::PACKAGE, Self::NAME)
    }

    /// `package::msg::dds_::Name_`, the name on the DDS wire.
    fn dds_type() -> String {
        format!("{}::msg::dds_::{}_", Self::PACKAGE, Self::NAME)
    }
}

macro_rules! ros_message {
    ($t:ty, $pkg:literal, $name:literal) => {
        impl $crate::msgs::RosMessage for $t {
            const PACKAGE: &'static str = $pkg;
            const NAME: &'static str = $name;
        }
    };
}
pub(crate) use ros_message;
