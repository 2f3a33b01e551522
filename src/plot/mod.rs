//! PNG plots people look at: trajectories drawn over their images, and learning curves.

mod curves;
mod font;
mod trajectories;

pub use curves::{learning_curve, Curve};
pub use trajectories::{trajectories_over_images, TrajectoryPanel};

/// Plotting errors carry the output file.
fn plot_err(path: &std::path::Path, e: impl std::fmt::Display) -> crate::Error {
    crate::Error::File {
        path: path.into(),
        msg: format!("plotting: {e}"),
    }
}
