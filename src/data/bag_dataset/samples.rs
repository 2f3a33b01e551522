//! Samples of one episode: at each sample time, what the policy reads (aligned as configured)
//! and the future it should plan (the target, always interpolated), as flat arrays.

use serde::Serialize;

use super::config::{Align, BagDataConfig, Observation, Target};
use super::timeline::Timelines;

/// Samples as flat arrays, with the episode of each.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Per-sample observation shape (e.g. [14] or [1, 28, 28]).
    pub obs_shape: Vec<usize>,
    pub obs: Vec<f32>,
    /// Joint state values per sample read beside an image (0: none).
    pub state_len: usize,
    pub state: Vec<f32>,
    pub y0: Vec<f32>,
    /// (points, dof) per sample.
    pub target: Vec<f32>,
    pub episode: Vec<usize>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.episode.len()
    }
    pub fn is_empty(&self) -> bool {
        self.episode.is_empty()
    }

    /// (train, validation): the samples of the episodes `keep_train` accepts, and the rest.
    pub fn split(&self, keep_train: impl Fn(usize) -> bool) -> (Samples, Samples) {
        let n = self.len().max(1);
        let (o, d) = (self.obs.len() / n, self.y0.len() / n);
        let (t, k) = (self.target.len() / n, self.state_len);
        let mut a = Samples {
            obs_shape: self.obs_shape.clone(),
            state_len: k,
            ..Default::default()
        };
        let mut b = a.clone();
        for (i, &e) in self.episode.iter().enumerate() {
            let s = if keep_train(e) { &mut a } else { &mut b };
            s.obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
            s.state.extend_from_slice(&self.state[i * k..(i + 1) * k]);
            s.y0.extend_from_slice(&self.y0[i * d..(i + 1) * d]);
            s.target.extend_from_slice(&self.target[i * t..(i + 1) * t]);
            s.episode.push(e);
        }
        (a, b)
    }
}

/// What was read, for the log and the closing summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DatasetInfo {
    pub bags: usize,
    pub episodes: usize,
    pub train_episodes: usize,
    pub validation_episodes: usize,
    pub train_samples: usize,
    pub validation_samples: usize,
    /// Joint states dropped for NaN/Inf values (each is logged).
    pub dropped_messages: usize,
    /// Episodes too short for one sample.
    pub short_episodes: usize,
}

/// Sample times in [start, end] and the horizon each target spans (ns).
pub fn times(target: &Target, rate_hz: f64, start: u64, end: u64) -> Vec<(u64, u64)> {
    match *target {
        Target::Episode if end > start => vec![(start, end - start)],
        Target::Episode => vec![],
        Target::NextK { k } => {
            let step_ns = 1e9 / rate_hz;
            let horizon = (k as f64 * step_ns) as u64;
            (0u64..)
                .map(|i| start + (i as f64 * step_ns) as u64)
                .take_while(|&t| t + horizon <= end)
                .map(|t| (t, horizon))
                .collect()
        }
    }
}

/// Appends the samples at `times` (from `times`) of episode number `episode` of `tl`, for a
/// policy with `points` trajectory points and `image_side`-pixel images.
pub fn append(
    cfg: &BagDataConfig,
    tl: &Timelines,
    times: &[(u64, u64)],
    episode: usize,
    points: usize,
    image_side: usize,
    out: &mut Samples,
) {
    let dof = cfg.joints.len();
    let target_src = if cfg.action_topic.is_some() {
        &tl.action
    } else {
        &tl.state
    };
    // The targets (the future the policy plans) are never read causally.
    let label_align = match cfg.align {
        Align::Latest => Align::Interpolate,
        a => a,
    };
    for &(t, horizon) in times {
        let Some(s) = tl.state.at(t, cfg.align) else {
            continue;
        };
        let obs: Vec<f32> = match cfg.observation {
            Observation::State => s.iter().map(|&v| v as f32).collect(),
            Observation::Positions => s[..dof].iter().map(|&v| v as f32).collect(),
            Observation::Vector => match tl.vector.at(t, cfg.align) {
                Some(o) => o.iter().map(|&v| v as f32).collect(),
                None => continue,
            },
            Observation::Image | Observation::ImageState | Observation::ImagePositions => {
                // Images are never interpolated: the closest under `interpolate`.
                match tl.images.index(t, cfg.align) {
                    Some(i) => tl.images.v[i].clone(),
                    None => continue,
                }
            }
        };
        if out.obs_shape.is_empty() {
            out.obs_shape = if cfg.observation.has_image() {
                vec![1, image_side, image_side]
            } else {
                vec![obs.len()]
            };
        }
        out.obs.extend(obs);
        if let Some(k) = cfg.state_len() {
            out.state_len = k;
            out.state.extend(s[..k].iter().map(|&v| v as f32));
        }
        out.y0.extend(s[..dof].iter().map(|&v| v as f32));
        for p in 0..points {
            let tp = t + (horizon as f64 * p as f64 / (points - 1).max(1) as f64) as u64;
            let v = target_src
                .at(tp, label_align)
                .expect("non-empty target stream");
            out.target.extend(v[..dof].iter().map(|&x| x as f32));
        }
        out.episode.push(episode);
    }
}
