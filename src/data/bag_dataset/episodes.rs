//! Where episodes begin and end, as [start, end] times on the state stream.

use super::config::{Episodes, Split};

/// Episode bounds from the (sorted, non-empty) state times and the marker times.
pub fn bounds(cfg: &Episodes, state_t: &[u64], markers: &[u64]) -> Vec<(u64, u64)> {
    let (first, last) = (state_t[0], *state_t.last().expect("non-empty"));
    match cfg.split {
        Split::Bag => vec![(first, last)],
        Split::Gap => {
            let gap = (cfg.gap_s * 1e9) as u64;
            let mut b = vec![];
            let mut start = first;
            for w in state_t.windows(2) {
                if w[1] - w[0] > gap {
                    b.push((start, w[0]));
                    start = w[1];
                }
            }
            b.push((start, last));
            b
        }
        Split::Marker => {
            let mut cuts: Vec<u64> = markers.iter().copied().filter(|&t| t <= last).collect();
            cuts.sort_unstable();
            if cuts.first().is_none_or(|&c| c > first) {
                cuts.insert(0, first);
            }
            cuts.iter()
                .enumerate()
                .map(|(i, &s)| {
                    let next = cuts.get(i + 1).copied().unwrap_or(u64::MAX);
                    // The episode's last state before the next marker.
                    let end = state_t
                        .iter()
                        .copied()
                        .filter(|&t| t >= s && t < next)
                        .max()
                        .unwrap_or(s);
                    (s, end)
                })
                .collect()
        }
    }
}
