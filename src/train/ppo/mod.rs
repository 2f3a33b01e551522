//! PPO with Neural Dynamic Policies (and the PPO and PPO-multi baselines in the same trainer):
//! each policy call gives k actions, each with its own log-probability and advantage, and a
//! critic with one value head per sub-step. Not the reference code's defects: every sampled
//! sub-action is executed and scored, each has its own critic value, and the reset
//! observation starts the next call.

pub mod agent;
pub mod buffer;
pub mod checkpoint;
pub mod config;
pub mod normalize;
pub mod trainer;

pub use agent::Agent;
pub use config::{ActionMode, ActorConfig, ActorKind, PpoConfig, PpoRunConfig};
pub use trainer::{evaluate, train_ppo, train_ppo_on, PpoSummary, UpdateReport};
