//! sensor_msgs: JointState and Image.

use serde::{Deserialize, Serialize};

use super::std_msgs::Header;

/// sensor_msgs/msg/JointState (joint order is the publisher's, not the controller's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JointState {
    pub header: Header,
    pub name: Vec<String>,
    pub position: Vec<f64>,
    pub velocity: Vec<f64>,
    pub effort: Vec<f64>,
}

/// sensor_msgs/msg/Image. `data` is uint8[]: serde_bytes keeps it one memcpy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub encoding: String,
    pub is_bigendian: u8,
    pub step: u32,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// sensor_msgs/msg/Image with the pixels borrowed from the serialized message: decoding a
/// camera frame copies no pixel data (bags of images, `Bag::for_each_message`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ImageRef<'a> {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub encoding: String,
    pub is_bigendian: u8,
    pub step: u32,
    #[serde(borrow)]
    pub data: &'a [u8],
}

impl ImageRef<'_> {
    pub const ROS_TYPE: &'static str = "sensor_msgs/msg/Image";

    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            height: self.height,
            width: self.width,
            encoding: &self.encoding,
            step: self.step,
            data: self.data,
        }
    }
}

/// What image preprocessing reads of a sensor_msgs/Image, owned (`Image`) or borrowed from a
/// bag (`ImageRef`): one checker and one converter for the node and the bag reader.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    pub height: u32,
    pub width: u32,
    pub encoding: &'a str,
    pub step: u32,
    pub data: &'a [u8],
}

impl Image {
    pub fn view(&self) -> ImageView<'_> {
        ImageView {
            height: self.height,
            width: self.width,
            encoding: &self.encoding,
            step: self.step,
            data: &self.data,
        }
    }
}

super::ros_message!(JointState, "sensor_msgs", "JointState");
super::ros_message!(Image, "sensor_msgs", "Image");
