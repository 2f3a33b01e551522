//! The policy node: latest inputs -> policy every k ticks -> DMP ticks -> commands, with
//! limits and a watchdog. `controller` is the logic; `run` wires it to a transport.

pub mod controller;
pub mod observe;
pub mod params;
pub mod planner;
pub mod run;
pub mod safety;

pub use controller::{Controller, PlanInput, Planner, Setpoint, Tick};
pub use params::{NodeParams, ObservationMode, OutputMode};
