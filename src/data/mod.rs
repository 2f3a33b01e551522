//! Datasets: the synthetic digit-writing set (generator, file format, image processing),
//! datasets from rosbag2 bags, and the conversions of ROS messages into model inputs.

pub mod bag_dataset;

pub mod digits;
pub mod image;
pub mod ros_input;
pub mod store;
pub mod templates;

pub use digits::{generate, DigitSample, GenerateSpec};
pub use store::DigitSet;
