//! The policy network: parameter names, NDP output = DMP rollout of its (g, w), checkpoints.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use ndp_ros::dmp::DmpStepper;
use ndp_ros::policy::{EncoderKind, ModelKind};
use ndp_ros::train::{checkpoint, RunConfig};

fn digits_cfg() -> RunConfig {
    let text = std::fs::read_to_string("config/digits_ndp.yaml").unwrap();
    let mut cfg: RunConfig = serde_yaml::from_str(&text).unwrap();
    // A shorter DMP keeps the test quick; the shapes are the digit model's.
    cfg.dmp.t = 60;
    cfg
}

fn state_cfg() -> RunConfig {
    let mut cfg = digits_cfg();
    cfg.model.encoder = EncoderKind::Mlp;
    cfg.model.input_size = 9;
    cfg.model.encoder_hidden = vec![32, 16];
    cfg.model.dof = 3;
    cfg.dmp.n_basis = 6;
    cfg
}

fn image_batch(b: usize, s: usize) -> Tensor {
    Tensor::rand(0f32, 1.0, (b, 1, s, s), &Device::Cpu).unwrap()
}

#[test]
fn parameters_are_named_by_their_path() {
    let (_, varmap) = checkpoint::init(&digits_cfg(), &Device::Cpu).unwrap();
    let mut names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "encoder.conv1.bias",
            "encoder.conv1.weight",
            "encoder.conv2.bias",
            "encoder.conv2.weight",
            "encoder.fc.bias",
            "encoder.fc.weight",
            "head.0.bias",
            "head.0.weight",
            "head.1.bias",
            "head.1.weight",
        ]
    );
    let data = varmap.data().lock().unwrap();
    assert_eq!(data["encoder.conv1.weight"].dims(), &[20, 1, 5, 5]);
    assert_eq!(data["encoder.conv2.weight"].dims(), &[50, 20, 5, 5]);
    assert_eq!(data["encoder.fc.weight"].dims(), &[200, 800]);
    // g (2) then N * D weights (30 * 2).
    assert_eq!(data["head.1.weight"].dims(), &[62, 100]);
}

/// The NDP trajectory is exactly the f64 DMP rollout of the (g, w) the network outputs.
#[test]
fn ndp_trajectory_is_the_dmp_rollout_of_its_parameters() {
    for cfg in [digits_cfg(), state_cfg()] {
        let (policy, _) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
        let b = 3;
        let obs = match cfg.model.encoder {
            EncoderKind::DigitCnn => image_batch(b, 28),
            EncoderKind::Mlp => Tensor::randn(0f32, 1.0, (b, 9), &Device::Cpu).unwrap(),
            EncoderKind::CnnState => unreachable!("not among the configs above"),
        };
        let d = cfg.model.dof;
        let y0 = (Tensor::rand(0f32, 1.0, (b, d), &Device::Cpu).unwrap() * 30.0).unwrap();
        let traj = policy.trajectory(&obs, &y0).unwrap();
        assert_eq!(traj.dims(), &[b, cfg.dmp.points(), d]);
        let (g, w) = policy.dmp_params(&policy.raw(&obs).unwrap(), &y0).unwrap();
        let to64 = |t: &Tensor| -> Vec<f64> {
            t.to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        let (y0v, gv, wv, tv) = (to64(&y0), to64(&g), to64(&w), to64(&traj));
        let n = cfg.dmp.n_basis;
        for i in 0..b {
            let mut s = DmpStepper::new(&cfg.dmp, d);
            s.reset(
                &y0v[i * d..(i + 1) * d],
                &vec![cfg.model.dy0; d],
                &gv[i * d..(i + 1) * d],
                &wv[i * d * n..(i + 1) * d * n],
            )
            .unwrap();
            let mut want = vec![0.0; cfg.dmp.points() * d];
            s.rollout_into(&mut want);
            let got = &tv[i * want.len()..(i + 1) * want.len()];
            let err: f64 = want
                .iter()
                .zip(got)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let norm: f64 = want.iter().map(|a| a * a).sum::<f64>().sqrt();
            assert!(
                err / norm < 1e-5,
                "sample {i}: relative error {}",
                err / norm
            );
        }
    }
}

#[test]
fn cnn_baseline_regresses_the_whole_trajectory() {
    let mut cfg = digits_cfg();
    cfg.model.kind = ModelKind::Cnn;
    let (policy, varmap) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    let out = varmap.data().lock().unwrap()["head.1.weight"]
        .dims()
        .to_vec();
    assert_eq!(out, [cfg.dmp.points() * 2, 100]);
    let y0 = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
    let t = policy.trajectory(&image_batch(2, 28), &y0).unwrap();
    assert_eq!(t.dims(), &[2, cfg.dmp.points(), 2]);

    // Around y0 by default: shifting the start shifts the whole output by the same amount.
    let img = image_batch(2, 28);
    let t = policy.trajectory(&img, &y0).unwrap();
    let shifted = policy.trajectory(&img, &(&y0 + 3.0).unwrap()).unwrap();
    let d = (shifted - &t)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(d.iter().all(|v| (v - 3.0).abs() < 1e-5));
    // With `cnn_origin` the start is not an input: the output ignores y0.
    cfg.model.cnn_origin = Some(vec![20.0, 20.0]);
    let (policy, _) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    let a = policy.trajectory(&img, &y0).unwrap();
    let b = policy.trajectory(&img, &(&y0 + 3.0).unwrap()).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&a), flat(&b));
    cfg.model.cnn_origin = Some(vec![20.0]);
    let e = checkpoint::init(&cfg, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("model.cnn_origin") && e.contains("2 finite values"),
        "{e}"
    );
}

fn save_run(dir: &Path, cfg: &RunConfig) -> ndp_ros::policy::Policy {
    let (policy, varmap) = checkpoint::init(cfg, &Device::Cpu).unwrap();
    checkpoint::save(dir, cfg, &varmap).unwrap();
    policy
}

#[test]
fn checkpoint_round_trip_gives_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = digits_cfg();
    let policy = save_run(dir.path(), &cfg);
    let (cfg2, loaded, _) = checkpoint::load(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(cfg2, cfg);
    let obs = image_batch(2, 28);
    let y0 = Tensor::ones((2, 2), DType::F32, &Device::Cpu).unwrap();
    let a: Vec<f32> = policy
        .trajectory(&obs, &y0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let b: Vec<f32> = loaded
        .trajectory(&obs, &y0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn truncated_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    save_run(dir.path(), &digits_cfg());
    let path = dir.path().join(checkpoint::WEIGHTS);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = checkpoint::load(dir.path(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("truncated"),
        "{e}"
    );
}

#[test]
fn checkpoint_of_another_config_names_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = digits_cfg();
    save_run(dir.path(), &cfg);
    let mut other = cfg.clone();
    other.model.head_hidden = vec![50];
    let (_, varmap) = checkpoint::init(&other, &Device::Cpu).unwrap();
    let e = checkpoint::load_weights(&dir.path().join(checkpoint::WEIGHTS), &varmap, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`head.0.bias`") && e.contains("[100]") && e.contains("[50]"),
        "{e}"
    );
}

/// Initial weights depend on `train.seed` alone: the same seed gives the same network, another
/// seed another one, and each layer keeps candle-nn's distributions (Kaiming-normal weights with
/// std sqrt(2 / fan_in), biases uniform within 1/sqrt(fan_in)).
#[test]
fn initial_weights_are_a_function_of_the_seed() {
    let weights = |seed: u64| {
        let mut cfg = digits_cfg();
        cfg.train.seed = seed;
        let (_, varmap) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
        let data = varmap.data().lock().unwrap();
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                (
                    n.clone(),
                    data[n].flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (weights(3), weights(3), weights(4));
    assert_eq!(a, b);
    for ((name, x), (_, y)) in a.iter().zip(&c) {
        assert_ne!(x, y, "{name} ignores the seed");
    }
    let get = |name: &str| &a.iter().find(|(n, _)| n == name).unwrap().1;
    let w = get("encoder.fc.weight");
    let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    let want = (2f32 / 800.0).sqrt();
    assert!((std / want - 1.0).abs() < 0.02, "std {std}, want {want}");
    let bias = get("encoder.fc.bias");
    let max = bias.iter().fold(0f32, |m, v| m.max(v.abs()));
    let bound = 1.0 / 800f32.sqrt();
    assert!(
        max <= bound && max > 0.8 * bound,
        "max |b| {max}, bound {bound}"
    );
}

/// The fused image+state encoder names its two branches, and its config is validated.
#[test]
fn fused_encoder_parameters_and_config_errors() {
    let mut cfg = digits_cfg();
    cfg.model.encoder = EncoderKind::CnnState;
    cfg.model.state_size = 14;
    cfg.model.encoder_hidden = vec![32];
    let (_, varmap) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    let data = varmap.data().lock().unwrap();
    assert_eq!(data["encoder.image.conv1.weight"].dims(), &[20, 1, 5, 5]);
    assert_eq!(data["encoder.state.0.weight"].dims(), &[32, 14]);
    // Head input: 200 image features + 32 state features.
    assert_eq!(data["head.0.weight"].dims(), &[100, 232]);
    drop(data);
    cfg.model.state_size = 0;
    let e = checkpoint::init(&cfg, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("model.state_size"), "{e}");
}
