//! Recording demonstrations into an MCAP bag: a scripted expert (or any policy given as a
//! function) acts in an environment; each step is written as the messages a robot would have
//! logged: joint states, the full observation, the action, and an episode marker. Stopping
//! (SIGINT) between steps still leaves a complete, readable bag.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::bag::BagWriter;
use crate::env::{EnvConfig, VecEnv};
use crate::error::{Error, Result};
use crate::msgs::{Float64MultiArray, Header, JointState, Time};

/// `ndp collect`'s config: `env:` and `collect:`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    pub env: EnvConfig,
    pub collect: CollectSection,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectSection {
    pub episodes: usize,
    /// Control rate of the recording: message times advance 1 / rate_hz per step.
    pub rate_hz: f64,
    /// Names of the recorded joints.
    pub joints: Vec<String>,
    /// Observation index of each joint's position.
    pub position_index: Vec<usize>,
    #[serde(default)]
    pub topics: Topics,
    /// Silence between episodes (s), so that `episodes.split: gap` also finds them.
    #[serde(default = "default_gap")]
    pub gap_s: f64,
    /// Episode i is reset with seed + i.
    #[serde(default)]
    pub seed: u64,
}

fn default_gap() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topics {
    pub joint_states: String,
    pub observation: String,
    pub action: String,
    /// One message (Float64MultiArray [episode index]) at the start of each episode.
    pub episode: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            joint_states: "/joint_states".into(),
            observation: "/ndp/observation".into(),
            action: "/ndp/action".into(),
            episode: "/ndp/episode".into(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CollectSummary {
    pub bag: PathBuf,
    pub episodes: usize,
    pub successes: usize,
    pub success_rate: f64,
    pub steps: u64,
    /// Stopped by the user before all episodes were recorded.
    pub interrupted: bool,
}

impl CollectConfig {
    pub fn load(path: &Path) -> Result<Self> {
        crate::yaml::load_checked(path, Self::validate)
    }

    pub fn validate(&self) -> Result<()> {
        self.env.validate()?;
        let c = &self.collect;
        if c.episodes == 0 {
            return Err(Error::invalid("collect.episodes", "must be at least 1"));
        }
        if !(c.rate_hz.is_finite() && c.rate_hz > 0.0) {
            return Err(Error::invalid("collect.rate_hz", "must be > 0"));
        }
        if c.joints.is_empty() || c.joints.len() != c.position_index.len() {
            return Err(Error::invalid(
                "collect.position_index",
                format!(
                    "needs one observation index per joint ({} joints, {} indices)",
                    c.joints.len(),
                    c.position_index.len()
                ),
            ));
        }
        if !(c.gap_s.is_finite() && c.gap_s >= 0.0) {
            return Err(Error::invalid("collect.gap_s", "must be >= 0"));
        }
        Ok(())
    }
}

fn stamp(ns: u64) -> Header {
    Header {
        stamp: Time {
            sec: (ns / 1_000_000_000) as i32,
            nanosec: (ns % 1_000_000_000) as u32,
        },
        frame_id: String::new(),
    }
}

fn array(data: Vec<f64>) -> Float64MultiArray {
    Float64MultiArray {
        data,
        ..Default::default()
    }
}

/// Records `cfg.collect.episodes` expert episodes (instance 0 of the environment) into a new
/// bag at `out`. `stop` ends the recording early; the bag is finished either way.
pub fn collect(
    cfg: &CollectConfig,
    out: &Path,
    stop: &AtomicBool,
    progress: &ProgressBar,
) -> Result<CollectSummary> {
    cfg.validate()?;
    let mut env_cfg = cfg.env.clone();
    env_cfg.num_envs = 1;
    let mut envs = VecEnv::new(&env_cfg)?;
    let spec = envs.spec().clone();
    let c = &cfg.collect;
    if let Some(&i) = c.position_index.iter().find(|&&i| i >= spec.obs_dim) {
        return Err(Error::invalid(
            "collect.position_index",
            format!(
                "index {i} is past the observation's {} values",
                spec.obs_dim
            ),
        ));
    }
    let mut bag = BagWriter::create(out)?;
    let dt = (1e9 / c.rate_hz) as u64;
    let gap = (c.gap_s * 1e9) as u64;
    // Start at a plausible wall-clock-like time (1 s after the epoch would also do).
    let mut t: u64 = 1_700_000_000_000_000_000;
    let (mut successes, mut steps, mut done_eps) = (0usize, 0u64, 0usize);
    progress.set_length(c.episodes as u64);
    let write_state = |bag: &mut BagWriter, t: u64, obs: &[f64], prev: &[f64]| -> Result<()> {
        let pos: Vec<f64> = c.position_index.iter().map(|&i| obs[i]).collect();
        let vel: Vec<f64> = c
            .position_index
            .iter()
            .map(|&i| (obs[i] - prev[i]) * c.rate_hz)
            .collect();
        let js = JointState {
            header: stamp(t),
            name: c.joints.clone(),
            position: pos,
            velocity: vel,
            effort: vec![],
        };
        bag.write(&c.topics.joint_states, t, &js)?;
        bag.write(&c.topics.observation, t, &array(obs.to_vec()))
    };
    let mut interrupted = false;
    // The loop runs in a closure so that the bag is finished (readable) even when it fails.
    let mut record = || -> Result<()> {
        'episodes: for ep in 0..c.episodes {
            let mut obs = envs.reset(0, Some(c.seed.wrapping_add(ep as u64)))?;
            let mut prev = obs.clone();
            bag.write(&c.topics.episode, t, &array(vec![ep as f64]))?;
            let mut success = false;
            for _ in 0..spec.max_steps {
                if stop.load(Ordering::Relaxed) {
                    interrupted = true;
                    break 'episodes;
                }
                let action = envs.expert_action(0)?.ok_or_else(|| {
                    Error::invalid("env.task", "this task has no scripted expert to record")
                })?;
                write_state(&mut bag, t, &obs, &prev)?;
                bag.write(&c.topics.action, t, &array(action.clone()))?;
                let step = envs
                    .step(&[Some(action)])?
                    .pop()
                    .flatten()
                    .expect("one instance stepped");
                steps += 1;
                t += dt;
                success |= step.success;
                prev = std::mem::replace(&mut obs, step.obs);
                if step.terminated || step.truncated {
                    break;
                }
            }
            // The state after the last action, so the episode's final targets exist.
            write_state(&mut bag, t, &obs, &prev)?;
            t += gap.max(dt);
            successes += success as usize;
            done_eps += 1;
            progress.inc(1);
            progress.set_message(format!("expert success {successes}/{done_eps}"));
        }
        Ok(())
    };
    let recorded = record();
    let path = bag.finish()?;
    if let Err(e) = recorded {
        return Err(Error::invalid(
            "ndp collect",
            format!(
                "{e} (the bag {} was closed with the {done_eps} episodes recorded so far)",
                path.display()
            ),
        ));
    }
    progress.finish_and_clear();
    Ok(CollectSummary {
        bag: path,
        episodes: done_eps,
        successes,
        success_rate: if done_eps > 0 {
            successes as f64 / done_eps as f64
        } else {
            0.0
        },
        steps,
        interrupted,
    })
}
