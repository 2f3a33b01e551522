//! The NDP network Phi: s -> (w, g) and its baselines, built from candle-nn layers whose
//! parameter names are VarBuilder paths (so a safetensors checkpoint describes itself).

pub mod cnn;
pub mod config;
pub mod deployment;
pub mod mlp;
pub mod model;
pub mod seeded;

pub use config::{ConvImpl, EncoderKind, ModelKind, PolicyConfig};
pub use model::Policy;
