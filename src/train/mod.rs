//! Training: run configs, behaviour cloning, evaluation, checkpoints and metrics.

pub mod adam;
pub mod bc;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod eval;
pub mod metrics;
pub mod ppo;
pub mod sim_eval;

pub use bc::{train_bc, BcSummary, EpochReport};
pub use config::RunConfig;
pub use data::BcData;
