//! The policy node: latest inputs -> a policy call every replan period -> a plan (a function
//! of time) -> the real-time executor at rate_hz -> commands, with limits and a watchdog.
//! `controller` runs the pieces on one thread (tests, evaluation); `run` on four.

pub mod controller;
pub mod executor;
pub mod inputs;
pub mod limits;
/// Message-to-input conversions live in data (datasets from bags use them too).
pub use crate::data::ros_input as observe;
pub mod params;
pub mod plan;
pub mod plan_maker;
pub mod planner;
pub mod rejects;
pub mod run;
pub mod ticker;

pub use controller::Controller;
pub use executor::{Setpoint, Tick};
pub use params::{NodeParams, ObservationMode, OutputMode};
pub use plan_maker::{PlanInput, Planner};
