//! Learning curves: named series of (x, y) on a log-scale y axis.

use std::path::Path;

use plotters::prelude::*;

use super::{font, plot_err};
use crate::error::Result;

pub struct Curve {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Draws `curves` into `path`; y on a log scale when `log_y` (values must then be > 0).
pub fn learning_curve(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
    log_y: bool,
) -> Result<()> {
    let pts = || curves.iter().flat_map(|c| c.points.iter());
    let x_max = pts().map(|p| p.0).fold(1e-9, f64::max);
    let (mut y_min, mut y_max) = pts()
        .map(|p| p.1)
        .filter(|v| v.is_finite() && (!log_y || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !y_min.is_finite() {
        (y_min, y_max) = (1e-3, 1.0);
    }
    if y_max <= y_min {
        y_max = y_min * 2.0 + 1e-9;
    }
    let text = font::available();
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut b = ChartBuilder::on(&root);
    b.margin(12);
    if text {
        b.caption(title, ("sans-serif", 22))
            .x_label_area_size(40)
            .y_label_area_size(60);
    }
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            let mut mesh = chart.configure_mesh();
            if text {
                mesh.x_desc(x_label).y_desc(y_label);
            } else {
                mesh.x_labels(0).y_labels(0);
            }
            mesh.draw().map_err(|e| plot_err(path, e))?;
            for (i, c) in curves.iter().enumerate() {
                let color = colors[i % colors.len()];
                let s = chart
                    .draw_series(LineSeries::new(
                        c.points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| plot_err(path, e))?;
                if text {
                    s.label(c.name.clone())
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
                }
            }
            if text {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| plot_err(path, e))?;
            }
        }};
    }
    if log_y {
        draw!(b
            .build_cartesian_2d(0f64..x_max, (y_min * 0.8..y_max * 1.25).log_scale())
            .map_err(|e| plot_err(path, e))?);
    } else {
        let pad = (y_max - y_min) * 0.05;
        draw!(b
            .build_cartesian_2d(0f64..x_max, y_min - pad..y_max + pad)
            .map_err(|e| plot_err(path, e))?);
    }
    root.present().map_err(|e| plot_err(path, e))
}
