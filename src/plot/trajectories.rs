//! A grid of panels: a grayscale image with the true trajectory (green) and the predicted one
//! (red) drawn over it, in the image's pixel frame.

use std::path::Path;

use plotters::prelude::*;

use super::{font, plot_err};
use crate::error::Result;

/// One panel: a square grayscale image (0..255, row-major) and trajectories in its pixels.
pub struct TrajectoryPanel<'a> {
    pub image: &'a [u8],
    pub side: usize,
    pub truth: Vec<(f64, f64)>,
    pub predicted: Vec<(f64, f64)>,
    pub title: String,
}

pub fn trajectories_over_images(
    path: &Path,
    panels: &[TrajectoryPanel],
    cols: usize,
) -> Result<()> {
    let rows = panels.len().div_ceil(cols.max(1)).max(1);
    let cell = 160u32;
    let text = font::available();
    let root =
        BitMapBackend::new(path, (cols as u32 * cell, rows as u32 * cell)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    for (area, p) in root.split_evenly((rows, cols)).iter().zip(panels) {
        let s = p.side as f64;
        let mut b = ChartBuilder::on(area);
        b.margin(4);
        if text {
            b.caption(&p.title, ("sans-serif", 13));
        }
        let mut chart = b
            .build_cartesian_2d(0f64..s, s..0f64)
            .map_err(|e| plot_err(path, e))?;
        let pixels = (0..p.side).flat_map(|y| (0..p.side).map(move |x| (x, y)));
        chart
            .draw_series(pixels.map(|(x, y)| {
                let v = 255 - p.image[y * p.side + x];
                let c = RGBColor(v, v, v);
                Rectangle::new(
                    [(x as f64, y as f64), (x as f64 + 1.0, y as f64 + 1.0)],
                    c.filled(),
                )
            }))
            .map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(LineSeries::new(
                p.truth.iter().copied(),
                GREEN.stroke_width(2),
            ))
            .map_err(|e| plot_err(path, e))?;
        chart
            .draw_series(LineSeries::new(
                p.predicted.iter().copied(),
                RED.stroke_width(2),
            ))
            .map_err(|e| plot_err(path, e))?;
    }
    root.present().map_err(|e| plot_err(path, e))
}
