//! Pen-stroke templates, one per digit class: waypoints of a single stroke in the unit square
//! ((0,0) top left, x right, y down). Every curved stroke ends well away from where it starts in
//! both axes: the DMP forcing term is scaled by (g - y0), so a loop that closes on itself could
//! only be written with unbounded weights.

/// Waypoints of digit `class` (0..=9).
pub fn waypoints(class: usize) -> &'static [[f64; 2]] {
    const T: [&[[f64; 2]]; 10] = [
        // 0: from the top right, anticlockwise round the oval, up the right side.
        &[
            [0.62, 0.22],
            [0.45, 0.18],
            [0.32, 0.3],
            [0.28, 0.5],
            [0.34, 0.72],
            [0.5, 0.82],
            [0.66, 0.72],
            [0.73, 0.5],
            [0.7, 0.35],
        ],
        // 1: a short lead-in, then straight down.
        &[[0.4, 0.3], [0.55, 0.18], [0.52, 0.5], [0.5, 0.82]],
        // 2
        &[
            [0.3, 0.3],
            [0.45, 0.19],
            [0.64, 0.24],
            [0.67, 0.4],
            [0.5, 0.6],
            [0.3, 0.8],
            [0.72, 0.8],
        ],
        // 3
        &[
            [0.3, 0.25],
            [0.5, 0.17],
            [0.67, 0.28],
            [0.5, 0.47],
            [0.7, 0.62],
            [0.58, 0.8],
            [0.42, 0.82],
        ],
        // 4: down the left, across, then the long stroke down.
        &[
            [0.4, 0.18],
            [0.3, 0.58],
            [0.72, 0.58],
            [0.62, 0.35],
            [0.6, 0.82],
        ],
        // 5
        &[
            [0.7, 0.19],
            [0.38, 0.2],
            [0.34, 0.46],
            [0.56, 0.43],
            [0.7, 0.58],
            [0.62, 0.78],
            [0.4, 0.8],
        ],
        // 6
        &[
            [0.66, 0.18],
            [0.42, 0.33],
            [0.32, 0.58],
            [0.42, 0.8],
            [0.64, 0.74],
            [0.62, 0.55],
            [0.42, 0.58],
        ],
        // 7
        &[[0.28, 0.2], [0.72, 0.2], [0.56, 0.5], [0.46, 0.82]],
        // 8: over the top, down through the middle, round the bottom, back up through the
        // middle, stopping short of the start.
        &[
            [0.64, 0.26],
            [0.5, 0.17],
            [0.36, 0.28],
            [0.5, 0.47],
            [0.66, 0.66],
            [0.52, 0.82],
            [0.36, 0.7],
            [0.5, 0.5],
            [0.58, 0.4],
        ],
        // 9: the loop, then the tail down.
        &[
            [0.66, 0.3],
            [0.5, 0.2],
            [0.34, 0.32],
            [0.42, 0.48],
            [0.64, 0.4],
            [0.64, 0.6],
            [0.56, 0.84],
        ],
    ];
    T[class]
}

pub const CLASSES: usize = 10;
