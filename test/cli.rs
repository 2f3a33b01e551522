//! The `ndp` command line: bad input gives one clear error and a non-zero exit, nothing saved
//! is lost, and a small end-to-end run learns.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ndp(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ndp"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ndp runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn digits_config() -> String {
    std::fs::read_to_string("config/digits_ndp.yaml").unwrap()
}

/// Writes `text` as a config in `dir` and returns its path.
fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn config_errors_name_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = digits_config();
    let cases = [
        ("missing.yaml", base.replace("  lr: 0.001\n", ""), "`lr`"),
        (
            "unknown.yaml",
            base.replace("  lr: 0.001\n", "  lrr: 0.001\n"),
            "`lrr`",
        ),
        (
            "typed.yaml",
            base.replace("batch_size: 64", "batch_size: sixty"),
            "batch_size",
        ),
        (
            "range.yaml",
            base.replace("epochs: 70", "epochs: 0"),
            "train.epochs",
        ),
        (
            "dmp.yaml",
            base.replace("a_z: 25.0", "a_z: -1.0"),
            "dmp.a_z",
        ),
        (
            "kernel.yaml",
            base.replace("kernel: gaussian", "kernel: gaussan"),
            "gaussan",
        ),
    ];
    for (name, text, key) in cases {
        let cfg = write_config(dir.path(), name, &text);
        let run = dir.path().join("run");
        let (ok, _, err) = ndp(&["init-model", "--config", s(&cfg), "--out", s(&run)]);
        assert!(!ok, "{name} was accepted");
        assert!(err.contains(key) && err.contains(name), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
        assert!(!run.exists(), "{name}: nothing written");
    }
}

#[test]
fn truncated_checkpoint_fails_eval_and_leaves_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let (ok, _, err) = ndp(&[
        "init-model",
        "--config",
        "config/digits_ndp.yaml",
        "--out",
        s(&run),
    ]);
    assert!(ok, "{err}");
    let weights = run.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..1000]).unwrap();
    let config_before = std::fs::read(run.join("config.yaml")).unwrap();
    let (ok, _, err) = ndp(&["eval", "--run", s(&run), "--data", s(dir.path()), "--json"]);
    assert!(!ok);
    assert!(
        err.contains("model.safetensors") && err.contains("truncated"),
        "{err}"
    );
    assert_eq!(std::fs::read(&weights).unwrap(), &bytes[..1000]);
    assert_eq!(
        std::fs::read(run.join("config.yaml")).unwrap(),
        config_before
    );
}

/// A split whose trajectories have the wrong length: training refuses, names the field, and
/// the run directory's existing checkpoint is untouched.
#[test]
fn wrong_data_shape_names_the_field_and_keeps_the_old_checkpoint() {
    use candle_core::{DType, Device, Tensor};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = ndp(&[
        "digits",
        "generate",
        "--out",
        s(&data),
        "--train",
        "8",
        "--test",
        "4",
    ]);
    assert!(ok, "{err}");
    let dev = Device::Cpu;
    let mut map = std::collections::HashMap::new();
    map.insert(
        "labels".to_string(),
        Tensor::zeros(8, DType::U8, &dev).unwrap(),
    );
    map.insert(
        "images".to_string(),
        Tensor::zeros((8, 40, 40), DType::U8, &dev).unwrap(),
    );
    map.insert(
        "trajectories".to_string(),
        Tensor::zeros((8, 301, 3), DType::F32, &dev).unwrap(),
    );
    candle_core::safetensors::save(&map, data.join("train.safetensors")).unwrap();
    let run = dir.path().join("run");
    assert!(
        ndp(&[
            "init-model",
            "--config",
            "config/digits_ndp.yaml",
            "--out",
            s(&run)
        ])
        .0
    );
    let before = std::fs::read(run.join("model.safetensors")).unwrap();
    let (ok, _, err) = ndp(&[
        "train-bc",
        "--config",
        "config/digits_ndp.yaml",
        "--data",
        s(&data),
        "--out",
        s(&run),
    ]);
    assert!(!ok);
    assert!(
        err.contains("train.safetensors") && err.contains("`trajectories`"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(run.join("model.safetensors")).unwrap(),
        before
    );
}

#[test]
fn missing_data_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let (ok, _, err) = ndp(&[
        "train-bc",
        "--config",
        "config/digits_ndp.yaml",
        "--data",
        s(&missing),
    ]);
    assert!(!ok);
    assert!(
        err.contains("nowhere") && err.contains("meta.yaml"),
        "{err}"
    );
}

fn json_field(line: &str, key: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

/// Generate, train a few epochs, evaluate: the trained model beats its random start, and the
/// run holds checkpoint, config, metrics, evaluation and both plots.
#[test]
fn small_end_to_end_run_learns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("digits");
    let (ok, _, err) = ndp(&[
        "digits",
        "generate",
        "--out",
        s(&data),
        "--train",
        "640",
        "--test",
        "128",
        "--seed",
        "5",
    ]);
    assert!(ok, "{err}");
    let cfg = write_config(dir.path(), "quick.yaml", &digits_config());
    let init = dir.path().join("init");
    assert!(ndp(&["init-model", "--config", s(&cfg), "--out", s(&init)]).0);
    let (ok, out, err) = ndp(&["eval", "--run", s(&init), "--data", s(&data), "--json"]);
    assert!(ok, "{err}");
    let before = json_field(out.lines().last().unwrap(), "test_loss_mean");

    let run = dir.path().join("run");
    let (ok, out, err) = ndp(&[
        "train-bc",
        "--config",
        s(&cfg),
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--epochs",
        "4",
        "--json",
    ]);
    assert!(ok, "{err}");
    let after = json_field(out.lines().last().unwrap(), "test_loss_mean");
    assert!(after < before / 2.0, "held-out loss {before} -> {after}");

    let (ok, out, err) = ndp(&["eval", "--run", s(&run), "--data", s(&data), "--json"]);
    assert!(ok, "{err}");
    let last = out.lines().last().unwrap();
    assert!((json_field(last, "test_loss_mean") - after).abs() < 1e-6 * after.max(1.0));
    for key in ["train_loss_mean", "train_loss_std", "test_loss_std"] {
        assert!(json_field(last, key).is_finite());
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    for png in ["trajectories.png", "learning_curve.png"] {
        let bytes = std::fs::read(run.join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png} is a PNG");
    }
    assert!(run.join("config.yaml").exists() && run.join("eval.json").exists());
}

#[test]
fn train_ppo_prints_the_summary_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string("config/ppo_reach.yaml").unwrap();
    let tiny = base
        .replace("  num_envs: 8\n", "  num_envs: 2\n")
        .replace("  rollout_steps: 200 ", "  rollout_steps: 20 ")
        .replace("  minibatches: 32\n", "  minibatches: 4\n")
        .replace("  eval_episodes: 100\n", "  eval_episodes: 3\n");
    assert_ne!(tiny, base);
    let cfg = write_config(dir.path(), "ppo.yaml", &tiny);
    let run = dir.path().join("run");
    let (ok, out, err) = ndp(&[
        "train-ppo",
        "--config",
        s(&cfg),
        "--out",
        s(&run),
        "--steps",
        "80",
        "--kind",
        "ppo-multi",
        "--json",
    ]);
    assert!(ok, "{err}");
    let last = out.lines().last().unwrap();
    assert_eq!(json_field(last, "env_steps"), 80.0);
    assert_eq!(
        json_field(last, "episodes"),
        0.0,
        "50-step episodes, 40 steps per instance"
    );
    let rate = json_field(last, "success_rate");
    assert!((0.0..=1.0).contains(&rate));
    assert!(run.join("learning_curve.png").exists() && run.join("latest").exists());

    let cases = [
        (base.replace("    t: 5 ", "    t: 4 "), "policy.dmp.t"),
        (
            base.replace("  rollout_steps: 200 ", "  rollout_steps: 203 "),
            "ppo.rollout_steps",
        ),
        (base.replace("  task: reach\n", "  task: fly\n"), "fly"),
        (base.replace("  clip: 0.1\n", "  clip: 2\n"), "ppo.clip"),
        (
            base.replace(
                "  y0_index: [0, 1, 2, null]",
                "  y0_index: [0, 1, 99, null]",
            ),
            "policy.y0_index",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        assert_ne!(text, &base, "case {i} did not change the config");
        let p = write_config(dir.path(), &format!("bad{i}.yaml"), text);
        let (ok, _, err) = ndp(&[
            "train-ppo",
            "--config",
            s(&p),
            "--out",
            s(&dir.path().join("x")),
        ]);
        assert!(!ok, "case {i} was accepted");
        assert!(
            err.contains(key) && err.contains(&format!("bad{i}.yaml")),
            "case {i}: {err}"
        );
    }
}

#[test]
fn collect_stopped_by_sigint_leaves_a_readable_bag_that_trains() {
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("demos");
    let child = Command::new(env!("CARGO_BIN_EXE_ndp"))
        .args([
            "collect",
            "--config",
            "config/collect_reach.yaml",
            "--out",
            s(&bag),
        ])
        .args(["--episodes", "10000000", "--json"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until recording is under way, then interrupt it as Ctrl-C would.
    let t0 = std::time::Instant::now();
    while !bag.exists() && t0.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("interrupted after"), "{err}");
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let episodes = json_field(&last, "episodes");
    assert!((2.0..1e7).contains(&episodes), "{last}");
    // The bag is complete: metadata.yaml and the MCAP summary read back.
    let (ok, info, err) = ndp(&["bag", "info", s(&bag), "--json"]);
    assert!(ok, "{err}");
    let markers: serde_json::Value = serde_json::from_str(info.lines().last().unwrap()).unwrap();
    let count = markers["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "/ndp/episode")
        .unwrap()["count"]
        .as_f64()
        .unwrap();
    assert!(count >= episodes, "{count} markers for {episodes} episodes");
    // And it trains (one epoch; the end-to-end success test is in test/bc_bag.rs).
    let run = dir.path().join("run");
    let (ok, out, err) = ndp(&[
        "train-bc",
        "--config",
        "config/bc_reach_bag.yaml",
        "--data",
        s(&bag),
        "--out",
        s(&run),
        "--epochs",
        "1",
        "--json",
    ]);
    assert!(ok, "{err}");
    assert!(json_field(out.lines().last().unwrap(), "test_loss_mean") < 1e-2);
}
