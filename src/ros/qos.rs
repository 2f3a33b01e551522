//! Quality of service, set explicitly on every endpoint (ros2-client's defaults differ from
//! rclcpp's, and an incompatible pair silently never matches).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reliability {
    Reliable,
    BestEffort,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    Volatile,
    TransientLocal,
}

/// A keep-last QoS profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qos {
    pub reliability: Reliability,
    pub durability: Durability,
    pub depth: usize,
}

impl Qos {
    /// rclcpp's default: reliable, volatile, keep-last 10.
    pub const DEFAULT: Qos = Qos {
        reliability: Reliability::Reliable,
        durability: Durability::Volatile,
        depth: 10,
    };
    /// rclcpp's sensor-data profile: best effort, volatile, keep-last 5 (cameras).
    pub const SENSOR_DATA: Qos = Qos {
        reliability: Reliability::BestEffort,
        durability: Durability::Volatile,
        depth: 5,
    };

    /// `default` or `sensor_data`, as the node's QoS parameters spell them.
    pub fn from_name(name: &str) -> Option<Qos> {
        match name {
            "default" | "reliable" => Some(Qos::DEFAULT),
            "sensor_data" | "best_effort" => Some(Qos::SENSOR_DATA),
            _ => None,
        }
    }
}
