//! Dynamic movement primitives: the basis, the f64 controller-rate stepper, the closed-form
//! operator and its candle layer, DMP fitting, and the unrolled integration kept as an oracle.
//!
//! Knows nothing of networks or ROS: everything here is the DMP of ndp-method.md.

pub mod basis;
pub mod config;
pub mod fit;
mod fused;
pub mod layer;
pub mod operator;
pub mod stepper;
pub mod unrolled;

pub use basis::{Basis, Kernel};
pub use config::DmpConfig;
pub use fit::fit_forcing;
pub use layer::DmpLayer;
pub use operator::ClosedForm;
pub use stepper::DmpStepper;
