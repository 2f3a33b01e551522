//! builtin_interfaces: Time and Duration.

use serde::{Deserialize, Serialize};

/// builtin_interfaces/msg/Time
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Time {
    pub sec: i32,
    pub nanosec: u32,
}

/// builtin_interfaces/msg/Duration
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Duration {
    pub sec: i32,
    pub nanosec: u32,
}

super::ros_message!(Time, "builtin_interfaces", "Time");
super::ros_message!(Duration, "builtin_interfaces", "Duration");

impl Time {
    pub fn from_nanos(ns: i64) -> Self {
        Time {
            sec: ns.div_euclid(1_000_000_000) as i32,
            nanosec: ns.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// The system clock (what a ROS clock reads without sim time); 0 before 1970.
    pub fn wall_now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time::from_nanos(d.as_nanos() as i64)
    }

    pub fn nanos(&self) -> i64 {
        self.sec as i64 * 1_000_000_000 + self.nanosec as i64
    }

    pub fn is_zero(&self) -> bool {
        self.sec == 0 && self.nanosec == 0
    }
}

impl Duration {
    pub fn from_secs_f64(s: f64) -> Self {
        let ns = (s * 1e9).round() as i64;
        Duration {
            sec: ns.div_euclid(1_000_000_000) as i32,
            nanosec: ns.rem_euclid(1_000_000_000) as u32,
        }
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.sec as f64 + self.nanosec as f64 * 1e-9
    }
}
