//! `ndp train-ppo`: online PPO (NDP, PPO or PPO-multi) against built-in tasks or bridges.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ndp_ros::train::ppo::{train_ppo, ActorKind, PpoRunConfig};
use serde_json::json;

#[derive(Args)]
pub struct PpoArgs {
    /// PPO config (YAML): env, policy and ppo sections.
    #[arg(long)]
    config: PathBuf,
    /// Run directory for checkpoints, metrics.jsonl and learning_curve.png [default: runs/ppo-<kind>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    resume: bool,
    /// Overrides ppo.total_steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Overrides ppo.seed (and env.seed, so each seed is an independent run).
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides policy.kind (ndp, ppo or ppo-multi; ppo also sets k to 1).
    #[arg(long, value_parser = parse_kind)]
    kind: Option<ActorKind>,
    /// Print the result as one JSON line at the end.
    #[arg(long)]
    json: bool,
}

fn parse_kind(s: &str) -> Result<ActorKind, String> {
    serde_yaml::from_str(s)
        .map_err(|_| format!("unknown kind `{s}`: expected ndp, ppo or ppo-multi"))
}

pub fn train(a: PpoArgs) -> Result<()> {
    let mut cfg = PpoRunConfig::load(&a.config)?;
    if let Some(s) = a.steps {
        cfg.ppo.total_steps = s;
    }
    if let Some(s) = a.seed {
        cfg.ppo.seed = s;
        cfg.env.seed = s;
    }
    if let Some(kind) = a.kind {
        cfg.policy.kind = kind;
        if kind == ActorKind::Ppo {
            cfg.policy.k = 1;
        }
        if kind != ActorKind::Ndp {
            cfg.policy.dmp = None;
        }
    }
    cfg.validate()
        .map_err(|e| anyhow::anyhow!("config {} (after flags): {e}", a.config.display()))?;
    let kind = serde_yaml::to_string(&cfg.policy.kind)?.trim().to_string();
    let run = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("runs/ppo-{kind}")));
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} steps ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let s = train_ppo(&run, &cfg, a.resume, &bar)
        .with_context(|| format!("config {}", a.config.display()))?;
    eprintln!(
        "{kind}: {} env steps, {} episodes, evaluation success {:.3}; run in {} (learning_curve.png, metrics.jsonl)",
        s.env_steps,
        s.episodes,
        s.success_rate,
        run.display()
    );
    if a.json {
        crate::print_json(&json!({
            "env_steps": s.env_steps,
            "success_rate": s.success_rate,
            "episodes": s.episodes,
            "train_success_rate": s.train_success_rate,
            "nan_skipped": s.nan_skipped,
            "wall_s": s.wall_s,
            "run": run,
        }));
    }
    Ok(())
}
