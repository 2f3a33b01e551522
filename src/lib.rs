//! ndp_ros: Neural Dynamic Policies (a network predicts DMP parameters; the integrated DMP is
//! the trajectory) for ROS 2 robots.
//!
//! Imports go one way: dmp <- policy <- train; data feeds train; nothing low knows ROS.

pub mod alloc; // the allocator's settings for the binaries
pub mod bag; // rosbag2 bags (MCAP, sqlite3) read without ROS; CDR into msgs types
pub mod collect; // recording expert demonstrations from an environment into MCAP bags
pub mod data; // datasets: the digit-writing generator and its file format
pub mod dmp; // the DMP: basis, f64 stepper, closed-form layer, fitting, unrolled oracle
pub mod env; // environments: the Env trait, built-in reach and push, simulator bridges
pub mod error; // the library error type
pub mod fsutil; // atomic writes
pub mod msgs; // ROS 2 message types as serde structs
pub mod node; // the policy node: controller logic, safety, planner
pub mod ops; // fast CPU kernels as candle custom ops: im2col conv, fused ReLU + max-pool
pub mod plot; // PNG plots: trajectories over images, learning curves
pub mod policy; // the NDP network and baselines (candle-nn)
pub mod record; // recording live topics into MCAP bags without ROS
pub mod ros; // transports (embedded DDS, r2r, in-memory), --ros-args, parameters
pub mod throttle; // log gates: one line per interval, with a count of the rest
pub mod train; // behaviour cloning, evaluation, checkpoints, metrics
pub mod yaml; // YAML configs with errors naming file and key

pub use error::{Error, Result};
