//! `ndp plot-ppo`: learning curves of several PPO runs, averaged over seeds, one PNG per task.
//! Run directories are named TASK-KIND-sSEED (as scripts/bench_metaworld.sh makes them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use ndp_ros::plot::{learning_curve, Curve};
use ndp_ros::train::ppo::UpdateReport;
use serde_json::json;

#[derive(Args)]
pub struct PlotArgs {
    /// Output directory for TASK.png and summary.json.
    #[arg(long)]
    out: PathBuf,
    /// Environment steps per point of the curve (success averaged within).
    #[arg(long, default_value_t = 25_000)]
    bin: u64,
    /// Run directories (each with metrics.jsonl).
    runs: Vec<PathBuf>,
}

/// Step bin -> (sum of success rates, updates) of one run.
type Bins = BTreeMap<u64, (f64, usize)>;

pub fn plot(a: PlotArgs) -> Result<()> {
    if a.runs.is_empty() {
        bail!("no run directories given");
    }
    // task -> kind -> per-seed binned curves
    let mut tasks: BTreeMap<String, BTreeMap<String, Vec<Bins>>> = BTreeMap::new();
    let mut summary = vec![];
    for run in &a.runs {
        let name = run
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: not a run directory name", run.display()))?;
        let Some((stem, _seed)) = name.rsplit_once("-s") else {
            bail!("{}: expected a name TASK-KIND-sSEED", run.display());
        };
        let kind = ["ppo-multi", "ndp", "ppo"]
            .into_iter()
            .find(|k| stem.ends_with(&format!("-{k}")))
            .with_context(|| {
                format!(
                    "{}: no kind (ndp, ppo, ppo-multi) in the name",
                    run.display()
                )
            })?;
        let task = stem.trim_end_matches(&format!("-{kind}")).to_string();
        let path = run.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let mut bins: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
        let mut last_eval = None;
        let mut speeds = vec![];
        let mut steps = 0;
        for (i, line) in text.lines().enumerate() {
            let r: UpdateReport = serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?;
            if let Some(s) = r.success_rate {
                let e = bins.entry(r.env_steps.div_ceil(a.bin) * a.bin).or_default();
                e.0 += s;
                e.1 += 1;
            }
            last_eval = r.eval_success_rate.or(last_eval);
            speeds.push(r.steps_per_s);
            steps = r.env_steps;
        }
        speeds.sort_by(f64::total_cmp);
        let final_eval = std::fs::read_to_string(run.join("done.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["success_rate"].as_f64());
        summary.push(json!({
            "run": name, "task": task, "kind": kind, "env_steps": steps,
            "final_eval_success": final_eval, "last_periodic_eval_success": last_eval,
            "median_steps_per_s": speeds.get(speeds.len() / 2),
        }));
        tasks
            .entry(task)
            .or_default()
            .entry(kind.to_string())
            .or_default()
            .push(bins);
    }
    std::fs::create_dir_all(&a.out)?;
    for (task, kinds) in &tasks {
        let curves: Vec<Curve> = kinds
            .iter()
            .map(|(kind, seeds)| {
                let mut all: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                for bins in seeds {
                    for (&x, &(sum, n)) in bins {
                        all.entry(x).or_default().push(sum / n as f64);
                    }
                }
                Curve {
                    name: format!("{kind} ({} seeds)", seeds.len()),
                    points: all
                        .into_iter()
                        .map(|(x, v)| (x as f64, v.iter().sum::<f64>() / v.len() as f64))
                        .collect(),
                }
            })
            .collect();
        let png = a.out.join(format!("{task}.png"));
        learning_curve(
            &png,
            &format!("{task}: training success rate (mean over seeds)"),
            "environment steps",
            "success rate",
            &curves,
            false,
        )?;
        eprintln!("wrote {}", png.display());
    }
    let path = a.out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
