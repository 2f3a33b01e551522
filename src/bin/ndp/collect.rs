//! `ndp collect` (expert demonstrations into an MCAP bag) and `ndp eval-sim` (a trained
//! policy's success rate in the same environment).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use candle_core::Device;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ndp_ros::collect::{collect, CollectConfig};
use ndp_ros::env::VecEnv;
use ndp_ros::train::checkpoint;
use ndp_ros::train::sim_eval::{policy_success, EnvActions, SimActions};
use serde_json::json;

#[derive(Args)]
pub struct CollectArgs {
    /// Collect config (YAML): env and collect sections.
    #[arg(long)]
    config: PathBuf,
    /// The new bag directory (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Overrides collect.episodes.
    #[arg(long)]
    episodes: Option<usize>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EvalSimArgs {
    /// A run trained by `ndp train-bc` (config.yaml + model.safetensors).
    #[arg(long)]
    run: PathBuf,
    /// The collect config whose environment and joints the policy was trained on.
    #[arg(long)]
    config: PathBuf,
    #[arg(long, default_value_t = 100)]
    episodes: usize,
    /// Seed of the first episode (the demonstrations used collect.seed onwards).
    #[arg(long, default_value_t = 1 << 30)]
    seed: u64,
    /// Position change per unit action (0.01 m for Meta-World and the built-in tasks).
    #[arg(long, default_value_t = 0.01)]
    action_scale: f64,
    /// The environment takes absolute joint positions (bridges/ros_arm), not deltas.
    #[arg(long)]
    absolute_actions: bool,
    #[arg(long)]
    json: bool,
}

pub fn run_collect(a: CollectArgs) -> Result<()> {
    let mut cfg = CollectConfig::load(&a.config)?;
    if let Some(n) = a.episodes {
        cfg.collect.episodes = n;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("installing the SIGINT handler")?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} episodes {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let s = collect(&cfg, &a.out, &stop, &bar)
        .with_context(|| format!("config {}", a.config.display()))?;
    eprintln!(
        "{} {} episodes ({} steps) into {}; expert success {:.3}",
        if s.interrupted {
            "interrupted after"
        } else {
            "recorded"
        },
        s.episodes,
        s.steps,
        s.bag.display(),
        s.success_rate
    );
    if a.json {
        crate::print_json(&serde_json::to_value(&s)?);
    }
    Ok(())
}

pub fn eval_sim(a: EvalSimArgs) -> Result<()> {
    let cfg = CollectConfig::load(&a.config)?;
    let (_, policy, _) = checkpoint::load(&a.run, &Device::Cpu)?;
    let mut env = cfg.env.clone();
    env.num_envs = 1;
    let mut envs = VecEnv::new(&env)?;
    // A bundle that names its own positions (a PPO export) is served by its contract.
    let deploy = ndp_ros::policy::deployment::Deployment::load(&a.run)?;
    let rate = match deploy {
        Some(d) if !d.position_index.is_empty() => ndp_ros::train::sim_eval::bundle_success(
            &policy,
            &d,
            &mut envs,
            a.episodes,
            a.seed,
            if a.absolute_actions {
                EnvActions::Positions
            } else {
                EnvActions::Deltas(a.action_scale)
            },
        )?,
        _ => {
            let map = SimActions {
                position_index: cfg.collect.position_index.clone(),
                action_scale: a.action_scale,
            };
            policy_success(&policy, &mut envs, a.episodes, a.seed, &map)?
        }
    };
    eprintln!(
        "{}: success {rate:.3} over {} episodes",
        a.run.display(),
        a.episodes
    );
    if a.json {
        crate::print_json(&json!({"success_rate": rate, "episodes": a.episodes}));
    }
    Ok(())
}

#[derive(Args)]
pub struct RecordArgs {
    /// A topic to record, as NAME:TYPE (e.g. /joint_states:sensor_msgs/msg/JointState); repeat.
    #[arg(long = "topic", required = true)]
    topics: Vec<String>,
    /// The new bag directory (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    #[arg(long)]
    json: bool,
}

/// `ndp record`: live topics of the embedded DDS transport into an MCAP bag, until Ctrl-C.
#[cfg(feature = "dds")]
pub fn record(a: RecordArgs) -> Result<()> {
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    let topics = a
        .topics
        .iter()
        .map(|t| {
            t.split_once(':')
                .map(|(n, ty)| (n.to_string(), ty.to_string()))
                .with_context(|| format!("--topic {t}: expected NAME:TYPE"))
        })
        .collect::<Result<Vec<_>>>()?;
    let transport = DdsTransport::new(
        &DdsOptions::from_env()?,
        "/",
        "ndp_record",
        Default::default(),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("installing the SIGINT handler")?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{elapsed_precise} {spinner} {pos} messages {msg}")
            .expect("valid template"),
    );
    let duration = a.duration.map(std::time::Duration::from_secs_f64);
    let s = ndp_ros::record::record(&transport, &topics, &a.out, duration, &stop, |n| {
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    eprintln!(
        "recorded {} messages in {:.1} s into {}",
        s.messages,
        s.seconds,
        s.bag.display()
    );
    if a.json {
        crate::print_json(&serde_json::to_value(&s)?);
    }
    Ok(())
}

#[cfg(not(feature = "dds"))]
pub fn record(_: RecordArgs) -> Result<()> {
    anyhow::bail!("ndp record needs the embedded transport (cargo feature `dds`); with r2r use `ros2 bag record`")
}
