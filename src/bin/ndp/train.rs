//! `ndp init-model`, `ndp train-bc`, `ndp eval`: thin wiring over ndp_ros::train.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ndp_ros::data::digits::{IMAGE_SIZE, POINTS};
use ndp_ros::data::store::{load_meta, split_path};
use ndp_ros::data::DigitSet;
use ndp_ros::plot::{learning_curve, trajectories_over_images, Curve, TrajectoryPanel};
use ndp_ros::policy::{ModelKind, Policy};
use ndp_ros::train::eval::{predict, trajectory_loss};
use ndp_ros::train::{checkpoint, BcData, RunConfig};
use serde_json::json;

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct TrainArgs {
    /// Run config (YAML): model, dmp, train and data sections.
    #[arg(long)]
    config: PathBuf,
    /// Digit data directory (overrides data.dir), or with a `bag_data:` config, the bags
    /// (directories or .mcap/.db3 files) to train from.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Run directory for checkpoint, metrics and plots [default: runs/<model>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Overrides train.epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Overrides model.kind.
    #[arg(long, value_parser = parse_kind)]
    model: Option<ModelKind>,
    /// Print the evaluation as one JSON line at the end.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    run: PathBuf,
    /// Digit data directory [default: data.dir of the run's config].
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn parse_kind(s: &str) -> Result<ModelKind, String> {
    serde_yaml::from_str(s)
        .map_err(|_| format!("unknown model `{s}`: expected ndp, cnn or cnn-dmp"))
}

pub fn init_model(a: InitArgs) -> Result<()> {
    let cfg = RunConfig::load(&a.config)?;
    let (_, varmap) = checkpoint::init(&cfg, &Device::Cpu)?;
    checkpoint::save(&a.out, &cfg, &varmap)?;
    eprintln!(
        "wrote random {} weights to {}",
        cfg.model.kind,
        a.out.display()
    );
    Ok(())
}

/// The digit data directory: the flag, else the config's data.dir.
fn data_dir(flag: Option<PathBuf>, cfg: &RunConfig, cfg_path: &Path) -> Result<PathBuf> {
    match (flag, &cfg.data) {
        (Some(d), _) => Ok(d),
        (None, Some(d)) => Ok(d.dir.clone()),
        (None, None) => bail!(
            "no data: pass --data DIR or set data.dir in {}",
            cfg_path.display()
        ),
    }
}

/// Both splits of a digit directory, truncated as the config asks, as sets and tensors.
fn load_digits(dir: &Path, cfg: &RunConfig) -> Result<[(DigitSet, BcData); 2]> {
    load_meta(dir).with_context(|| format!("{} is not a digit data directory", dir.display()))?;
    let limits = [cfg.train.max_train, cfg.train.max_test];
    let mut out = Vec::new();
    for (split, limit) in ["train", "test"].into_iter().zip(limits) {
        let mut set = DigitSet::load(&split_path(dir, split))?;
        if let Some(n) = limit {
            set.truncate(n);
        }
        let data = BcData::from_digits(&set, cfg.model.input_size, &Device::Cpu)?;
        out.push((set, data));
    }
    Ok(out.try_into().map_err(|_| ()).expect("two splits"))
}

pub fn train_bc(a: TrainArgs) -> Result<()> {
    let mut cfg = RunConfig::load(&a.config)?;
    if let Some(e) = a.epochs {
        cfg.train.epochs = e;
    }
    if let Some(k) = a.model {
        cfg.model.kind = k;
    }
    cfg.validate()
        .with_context(|| format!("config {} with overrides", a.config.display()))?;
    if cfg.bag_data.is_some() {
        return train_bc_bags(a, cfg);
    }
    if a.data.len() > 1 {
        bail!("--data: digit data is one directory, got {} paths (bags need a bag_data: section in the config)", a.data.len());
    }
    let dir = data_dir(a.data.into_iter().next(), &cfg, &a.config)?;
    let run = a
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(cfg.model.kind.to_string()));
    let [(train_set, train), (test_set, test)] = load_digits(&dir, &cfg)?;
    eprintln!(
        "training {} on {} samples ({} held out) from {} into {}",
        cfg.model.kind,
        train.len(),
        test.len(),
        dir.display(),
        run.display()
    );
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} ETA {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let (policy, summary) = ndp_ros::train::train_bc(&run, &cfg, &train, &test, &bar)?;
    let result = evaluate(&policy, &train, &test)?;
    write_eval(&run, &result)?;
    plot_run(&run, &policy, &test_set, &test, &summary.epochs)?;
    drop(train_set);
    eprintln!(
        "done in {:.1} s: held-out loss {:.4} +- {:.4}, plots in {}",
        summary.wall_s,
        result["test_loss_mean"].as_f64().unwrap_or(f64::NAN),
        result["test_loss_std"].as_f64().unwrap_or(f64::NAN),
        run.display()
    );
    if a.json {
        let mut r = result;
        r["wall_s"] = json!(summary.wall_s);
        r["epochs"] = json!(cfg.train.epochs);
        crate::print_json(&r);
    }
    Ok(())
}

fn progress_bar() -> ProgressBar {
    ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} ETA {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    )
}

/// Behaviour cloning from rosbag2 bags (the config's `bag_data:` section).
fn train_bc_bags(a: TrainArgs, cfg: RunConfig) -> Result<()> {
    let bag_cfg = cfg.bag_data.clone().expect("checked by the caller");
    if a.data.is_empty() {
        bail!("no bags: pass --data BAG... (bag directories or .mcap/.db3 files)");
    }
    let points = cfg.dmp.points();
    let (train_s, val_s, info) =
        ndp_ros::data::bag_dataset::load(&bag_cfg, &a.data, points, cfg.model.input_size)
            .with_context(|| format!("dataset of {}", a.config.display()))?;
    let dev = Device::Cpu;
    let train = BcData::from_samples(&train_s, cfg.model.dof, &dev)?;
    let test = BcData::from_samples(&val_s, cfg.model.dof, &dev)?;
    let run = a
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-bags", cfg.model.kind)));
    eprintln!(
        "training {} on {} samples of {} episodes ({} samples of {} episodes for validation) from {} bag(s) into {}",
        cfg.model.kind,
        info.train_samples,
        info.train_episodes,
        info.validation_samples,
        info.validation_episodes,
        info.bags,
        run.display()
    );
    let (policy, summary) = ndp_ros::train::train_bc(&run, &cfg, &train, &test, &progress_bar())?;
    let mut result = evaluate(&policy, &train, &test)?;
    result["unit"] = json!("joint units^2");
    result["dataset"] = serde_json::to_value(&info)?;
    write_eval(&run, &result)?;
    let curve = |name: &str, f: fn(&ndp_ros::train::EpochReport) -> f64| Curve {
        name: name.into(),
        points: summary
            .epochs
            .iter()
            .map(|e| (e.epoch as f64, f(e)))
            .collect(),
    };
    learning_curve(
        &run.join("learning_curve.png"),
        &format!("{} behaviour cloning from bags", policy.config().kind),
        "epoch",
        "trajectory MSE",
        &[
            curve("training", |e| e.train_loss),
            curve("validation episodes", |e| e.test_loss),
        ],
        true,
    )?;
    eprintln!(
        "done in {:.1} s: validation loss {:.3e}; run in {}",
        summary.wall_s,
        result["test_loss_mean"].as_f64().unwrap_or(f64::NAN),
        run.display()
    );
    if a.json {
        result["wall_s"] = json!(summary.wall_s);
        crate::print_json(&result);
    }
    Ok(())
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let (cfg, policy, _) = checkpoint::load(&a.run, &Device::Cpu)?;
    let dir = data_dir(a.data, &cfg, &a.run.join(checkpoint::CONFIG))?;
    let [(_, train), (_, test)] = load_digits(&dir, &cfg)?;
    let result = evaluate(&policy, &train, &test)?;
    write_eval(&a.run, &result)?;
    if a.json {
        crate::print_json(&result);
    } else {
        eprintln!("{}", serde_json::to_string_pretty(&result)?);
    }
    Ok(())
}

fn evaluate(policy: &Policy, train: &BcData, test: &BcData) -> Result<serde_json::Value> {
    let tr = trajectory_loss(policy, train, 256)?;
    let te = trajectory_loss(policy, test, 256)?;
    Ok(json!({
        "model": policy.config().kind.to_string(),
        "train_loss_mean": tr.mean,
        "train_loss_std": tr.std,
        "test_loss_mean": te.mean,
        "test_loss_std": te.std,
        "train_samples": train.len(),
        "test_samples": test.len(),
        "unit": "px^2",
    }))
}

fn write_eval(run: &Path, result: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(result)?;
    ndp_ros::fsutil::write_atomic(&run.join("eval.json"), text.as_bytes())?;
    Ok(())
}

/// trajectories.png (16 held-out samples) and learning_curve.png.
fn plot_run(
    run: &Path,
    policy: &Policy,
    set: &DigitSet,
    data: &BcData,
    epochs: &[ndp_ros::train::EpochReport],
) -> Result<()> {
    let n = data.len().min(16);
    let idx = Tensor::arange(0u32, n as u32, &Device::Cpu)?;
    let sub = data.select(&idx)?;
    let pred = predict(policy, &sub, n)?.to_vec3::<f32>()?;
    let panels: Vec<TrajectoryPanel> = (0..n)
        .map(|i| {
            let truth = set.trajectory(i);
            let per: f64 = pred[i]
                .iter()
                .zip(truth.chunks_exact(2))
                .map(|(p, t)| ((p[0] - t[0]).powi(2) + (p[1] - t[1]).powi(2)) as f64)
                .sum::<f64>()
                / (2 * POINTS) as f64;
            TrajectoryPanel {
                image: set.image(i),
                side: IMAGE_SIZE,
                truth: truth
                    .chunks_exact(2)
                    .map(|p| (p[0] as f64, p[1] as f64))
                    .collect(),
                predicted: pred[i].iter().map(|p| (p[0] as f64, p[1] as f64)).collect(),
                title: format!("digit {}: {per:.2} px²", set.labels[i]),
            }
        })
        .collect();
    trajectories_over_images(&run.join("trajectories.png"), &panels, 4)?;
    let curve = |name: &str, f: fn(&ndp_ros::train::EpochReport) -> f64| Curve {
        name: name.into(),
        points: epochs.iter().map(|e| (e.epoch as f64, f(e))).collect(),
    };
    let mut curves = vec![curve("held-out trajectory MSE", |e| e.test_loss)];
    if policy.config().kind != ModelKind::CnnDmp {
        curves.insert(0, curve("training trajectory MSE", |e| e.train_loss));
    }
    learning_curve(
        &run.join("learning_curve.png"),
        &format!("{} behaviour cloning", policy.config().kind),
        "epoch",
        "MSE (px²)",
        &curves,
        true,
    )?;
    Ok(())
}
