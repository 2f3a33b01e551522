//! Behaviour-cloning samples from rosbag2 bags, by concern: `config` (the `bag_data:`
//! section), `timeline` (one streaming pass per bag into time series), `episodes` (where each
//! begins and ends), `samples` (what the policy reads and should plan at each sample time);
//! then a train/validation split by episode (never by sample: neighbouring samples of one
//! episode are near copies).

mod config;
mod episodes;
mod samples;
mod timeline;

use std::collections::HashSet;
use std::path::PathBuf;

use rand::seq::SliceRandom;
use rand::SeedableRng;

pub use config::{Align, BagDataConfig, Episodes, Observation, Split, Target};
pub use samples::{DatasetInfo, Samples};

use crate::error::{Error, Result};

/// Reads every bag into samples for a policy with `points` trajectory points and, for image
/// observations, `image_side` pixels; then splits by episode into (train, validation).
pub fn load(
    cfg: &BagDataConfig,
    bags: &[PathBuf],
    points: usize,
    image_side: usize,
) -> Result<(Samples, Samples, DatasetInfo)> {
    cfg.validate()?;
    if bags.is_empty() {
        return Err(Error::invalid("--data", "name at least one bag"));
    }
    let mut all = Samples::default();
    let mut info = DatasetInfo {
        bags: bags.len(),
        ..Default::default()
    };
    for path in bags {
        let tl = timeline::read(cfg, path, image_side, &mut info)?;
        for (start, end) in episodes::bounds(&cfg.episodes, &tl.state.t, &tl.markers) {
            let times = samples::times(&cfg.target, cfg.rate_hz, start, end);
            if times.is_empty() {
                info.short_episodes += 1;
            }
            samples::append(
                cfg,
                &tl,
                &times,
                info.episodes,
                points,
                image_side,
                &mut all,
            );
            info.episodes += 1;
        }
    }
    if all.is_empty() {
        return Err(Error::invalid(
            format!("bags {}", bags.iter().map(|b| b.display().to_string()).collect::<Vec<_>>().join(", ")),
            format!(
                "no samples: {} episodes found, {} too short for one sample; check bag_data topics, rate_hz and target",
                info.episodes, info.short_episodes
            ),
        ));
    }
    // Split by episode: a seeded shuffle of the episodes that have samples.
    let mut eps: Vec<usize> = all.episode.clone();
    eps.dedup();
    if eps.len() < 2 && cfg.validation_fraction > 0.0 {
        return Err(Error::invalid(
            "bag_data.validation_fraction",
            format!(
                "{} episode(s) with samples: a split by episode needs at least 2 (or set 0)",
                eps.len()
            ),
        ));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    eps.shuffle(&mut rng);
    let n_val = if cfg.validation_fraction > 0.0 {
        ((eps.len() as f64 * cfg.validation_fraction).round() as usize).clamp(1, eps.len() - 1)
    } else {
        0
    };
    let val_set: HashSet<usize> = eps[..n_val].iter().copied().collect();
    let (train, val) = all.split(|e| !val_set.contains(&e));
    info.train_episodes = eps.len() - n_val;
    info.validation_episodes = n_val;
    info.train_samples = train.len();
    info.validation_samples = val.len();
    Ok((train, val, info))
}
