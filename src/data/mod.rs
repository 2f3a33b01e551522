//! Datasets: the synthetic digit-writing set (generator, file format, image processing).

pub mod digits;
pub mod image;
pub mod store;
pub mod templates;

pub use digits::{generate, DigitSample, GenerateSpec};
pub use store::DigitSet;
