//! Finds a TrueType font at run time for plot text (no fontconfig build dependency). Without
//! one, plots are drawn without text rather than not at all.

use std::sync::OnceLock;

use plotters::style::FontStyle;

const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers "sans-serif" once; true if text can be drawn. NDP_PLOT_FONT overrides the path.
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let env = std::env::var("NDP_PLOT_FONT").ok();
        let paths = env
            .iter()
            .map(String::as_str)
            .chain(CANDIDATES.iter().copied());
        for p in paths {
            if let Ok(bytes) = std::fs::read(p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        tracing::warn!("no TrueType font found: plots are drawn without text (set NDP_PLOT_FONT)");
        false
    })
}
