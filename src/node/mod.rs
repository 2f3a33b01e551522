//! The policy node: latest inputs -> policy every k ticks -> DMP ticks -> commands, with
//! limits and a watchdog. `controller` is the logic; `run` wires it to a transport.

pub mod controller;
/// Message-to-input conversions live in data (datasets from bags use them too).
pub use crate::data::ros_input as observe;
pub mod params;
pub mod planner;
pub mod run;
pub mod safety;

pub use controller::{Controller, PlanInput, Planner, Setpoint, Tick};
pub use params::{NodeParams, ObservationMode, OutputMode};
