//! ROS 2 transports behind one trait: the embedded DDS backend (ros2-client over RustDDS, the
//! default), r2r (feature `r2r`, for colcon workspaces) and an in-memory one for tests.
//! Also what rcl would do for us: `--ros-args`, parameter files and name resolution.

pub mod args;
pub mod blocking;
#[cfg(feature = "dds")]
pub mod dds;
pub mod memory;
pub mod names;
#[cfg(feature = "dds")]
pub mod param_server;
pub mod params;
pub mod qos;
#[cfg(feature = "r2r")]
pub mod r2r;
pub mod rosout;

use futures::stream::BoxStream;

use crate::error::Result;
use crate::msgs::{RosMessage, Time};
pub use params::{ParamMap, ParamValue};
pub use qos::Qos;

/// Sends one message type on one topic.
pub trait Publisher<M>: Send + Sync {
    fn publish(&self, msg: &M) -> Result<()>;
    /// Subscriptions this publisher has matched (its own side of DDS matching: what it
    /// publishes reaches them); None where the backend cannot tell.
    fn matched(&self) -> Option<usize> {
        None
    }
}

/// What the node needs from ROS: typed subscriptions as streams, publishers, a clock and the
/// parameters it was started with. Topic names are already resolved (absolute).
pub trait Transport: Send + Sync + 'static {
    /// A stream of messages on `topic`; bad samples are logged by the backend and skipped.
    fn subscribe<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<BoxStream<'static, M>>;
    fn publisher<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<Box<dyn Publisher<M>>>;
    /// ROS time now (the simulation clock when use_sim_time is set and the backend has one).
    fn now(&self) -> Time;
    /// Parameter overrides given at start-up (parameter files, `-p`).
    fn parameters(&self) -> &ParamMap;
    /// The node's fully qualified name, for messages.
    fn node_name(&self) -> &str;
    /// Changes to the node's parameters accepted at run time (through the standard parameter
    /// services), once; None if the backend offers none.
    fn parameter_changes(&self) -> Option<BoxStream<'static, (String, ParamValue)>> {
        None
    }
    /// Before the process exits: gives what was just published (the final hold) the time to
    /// leave, at most `max`. Backends that send synchronously return at once.
    fn flush(&self, max: std::time::Duration) {
        let _ = max;
    }
    /// Where log lines go on ROS (`/rosout`), if the backend publishes them.
    fn log_sink(&self) -> Option<rosout::LogSink> {
        None
    }
}

/// Checks a parameter change: Ok to accept, Err(reason) to refuse.
pub type ParamValidator =
    Box<dyn Fn(&str, &ParamValue) -> std::result::Result<(), String> + Send + Sync>;

/// The parameters a node declares (every one, with its current value) and the check that
/// decides which changes it accepts.
pub struct DeclaredParams {
    pub values: Vec<(String, ParamValue)>,
    pub validate: ParamValidator,
    /// What `describe_parameters` answers per name.
    pub descriptions: std::collections::BTreeMap<String, String>,
}
