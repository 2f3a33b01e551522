//! Behaviour cloning from rosbag2 bags end to end: a scripted expert in the built-in reach
//! task is recorded to an MCAP bag, an NDP is trained from the bag, and its success rate in the
//! task is compared with the expert's. Plus the dataset's episodes, split, targets and errors.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use indicatif::ProgressBar;
use ndp_ros::bag::BagWriter;
use ndp_ros::collect::{collect, CollectConfig};
use ndp_ros::data::bag_dataset::{self, BagDataConfig, Split, Target};
use ndp_ros::env::VecEnv;
use ndp_ros::msgs::{Float64MultiArray, JointState};
use ndp_ros::train::sim_eval::{policy_success, SimActions};
use ndp_ros::train::{train_bc, BcData, RunConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn record(dir: &Path, episodes: usize) -> (CollectConfig, PathBuf, f64) {
    let mut cfg = CollectConfig::load(&root().join("config/collect_reach.yaml")).unwrap();
    cfg.collect.episodes = episodes;
    let bag = dir.join("demos");
    let s = collect(&cfg, &bag, &AtomicBool::new(false), &ProgressBar::hidden()).unwrap();
    assert_eq!(s.episodes, episodes);
    (cfg, s.bag, s.success_rate)
}

fn bc_config() -> RunConfig {
    RunConfig::load(&root().join("config/bc_reach_bag.yaml")).unwrap()
}

#[test]
fn bc_from_a_recorded_bag_matches_the_expert() {
    let dir = tempfile::tempdir().unwrap();
    let (ccfg, bag, expert) = record(dir.path(), 120);
    let mut cfg = bc_config();
    cfg.train.epochs = 15;
    let b = cfg.bag_data.clone().unwrap();
    let (tr, va, info) = bag_dataset::load(&b, &[bag], cfg.dmp.points(), 0).unwrap();
    assert_eq!(info.episodes, 120);
    assert_eq!(info.validation_episodes, 24);
    let dev = Device::Cpu;
    let (train, val) = (
        BcData::from_samples(&tr, 3, &dev).unwrap(),
        BcData::from_samples(&va, 3, &dev).unwrap(),
    );
    let run = dir.path().join("run");
    let (policy, _) = train_bc(&run, &cfg, &train, &val, &ProgressBar::hidden()).unwrap();
    let mut env = ccfg.env.clone();
    env.num_envs = 1;
    let mut envs = VecEnv::new(&env).unwrap();
    let map = SimActions {
        position_index: vec![0, 1, 2],
        action_scale: 0.01,
    };
    // Fresh goals: seeds far from the recorded ones.
    let bc = policy_success(&policy, &mut envs, 50, 1 << 30, &map).unwrap();
    assert!(expert >= 0.95, "expert {expert}");
    assert!(
        (bc - expert).abs() <= 0.10,
        "BC success {bc} vs expert {expert}"
    );
}

#[test]
fn episodes_split_and_targets_follow_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bag, _) = record(dir.path(), 10);
    let cfg = bc_config();
    let mut b = cfg.bag_data.clone().unwrap();
    let points = cfg.dmp.points();
    let (tr, va, info) = bag_dataset::load(&b, std::slice::from_ref(&bag), points, 0).unwrap();
    assert_eq!((info.train_episodes, info.validation_episodes), (8, 2));
    // Never the same episode on both sides.
    for e in &va.episode {
        assert!(!tr.episode.contains(e));
    }
    // 50 steps a episode at 20 Hz, k = 5: samples at steps 0..=45 -> 46 per episode.
    assert_eq!(tr.len() + va.len(), 10 * 46);
    // The first target point is y0; the last is the position 5 steps later, which the expert
    // reached by moving at most 1 cm per axis per step.
    let d = 3;
    for i in 0..tr.len() {
        let y0 = &tr.y0[i * d..(i + 1) * d];
        let t = &tr.target[i * points * d..(i + 1) * points * d];
        for j in 0..d {
            assert!((t[j] - y0[j]).abs() < 1e-6);
            let moved = (t[(points - 1) * d + j] - y0[j]).abs();
            assert!(
                moved <= 0.05 + 1e-6,
                "sample {i} moved {moved} m in 5 steps"
            );
        }
    }
    // Cutting at gaps finds the same episodes as the marker topic.
    b.episodes.split = Split::Gap;
    let (_, _, gap) = bag_dataset::load(&b, std::slice::from_ref(&bag), points, 0).unwrap();
    assert_eq!(gap.episodes, 10);
    assert_eq!(gap.train_samples + gap.validation_samples, 460);
    // One sample per episode with the whole trajectory.
    b.target = Target::Episode;
    let (tr, va, _) = bag_dataset::load(&b, &[bag], points, 0).unwrap();
    assert_eq!(tr.len() + va.len(), 10);
}

#[test]
fn bad_bags_and_configs_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bag, _) = record(dir.path(), 3);
    let cfg = bc_config();
    let base = cfg.bag_data.clone().unwrap();
    let pts = cfg.dmp.points();
    let err = |b: &BagDataConfig, bags: &[PathBuf]| {
        bag_dataset::load(b, bags, pts, 0)
            .expect_err("an error")
            .to_string()
    };
    // A configured topic carrying another type names the file, topic and both types.
    let mut b = base.clone();
    b.state_topic = "/ndp/observation".into();
    let e = err(&b, std::slice::from_ref(&bag));
    assert!(
        e.contains("demos_0.mcap")
            && e.contains("/ndp/observation")
            && e.contains("sensor_msgs/msg/JointState"),
        "{e}"
    );
    // A joint that is not recorded.
    let mut b = base.clone();
    b.joints[2] = "wrist".into();
    let e = err(&b, std::slice::from_ref(&bag));
    assert!(e.contains("`wrist`") && e.contains("/joint_states"), "{e}");
    // A topic with no messages.
    let mut b = base.clone();
    b.observation_topic = Some("/camera".into());
    let e = err(&b, std::slice::from_ref(&bag));
    assert!(e.contains("/camera") && e.contains("no messages"), "{e}");
    // Nothing to train on: never starts silently.
    let mut b = base.clone();
    b.target = Target::NextK { k: 500 };
    let e = err(&b, std::slice::from_ref(&bag));
    assert!(e.contains("no samples"), "{e}");
    // A split by episode needs two episodes.
    let mut b = base.clone();
    b.episodes.split = Split::Bag;
    let e = err(&b, std::slice::from_ref(&bag));
    assert!(
        e.contains("validation_fraction") && e.contains("at least 2"),
        "{e}"
    );
    // Not a bag.
    let e = err(&base, &[dir.path().join("nothing")]);
    assert!(e.contains("nothing"), "{e}");
    // A model that does not fit the data is refused by the config.
    let mut c = cfg.clone();
    c.model.dof = 2;
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("model.dof") && e.contains("bag_data.joints"),
        "{e}"
    );
}

#[test]
fn nan_joint_states_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan_bag");
    let mut w = BagWriter::create(&path).unwrap();
    let names: Vec<String> = ["hand_x", "hand_y", "hand_z"].map(String::from).to_vec();
    for ep in 0..2u64 {
        for i in 0..30u64 {
            let t = ep * 10_000_000_000 + i * 50_000_000;
            let x = if i == 7 { f64::NAN } else { i as f64 * 0.01 };
            let js = JointState {
                name: names.clone(),
                position: vec![x, 0.0, 0.0],
                ..Default::default()
            };
            w.write("/joint_states", t, &js).unwrap();
            let obs = Float64MultiArray {
                data: vec![0.5; 39],
                ..Default::default()
            };
            w.write("/ndp/observation", t, &obs).unwrap();
        }
    }
    w.finish().unwrap();
    let mut b = bc_config().bag_data.unwrap();
    b.episodes.split = Split::Gap;
    let (tr, va, info) = bag_dataset::load(&b, &[path], 41, 0).unwrap();
    assert_eq!(info.dropped_messages, 2);
    assert_eq!(info.episodes, 2);
    assert!(tr.target.iter().chain(&va.target).all(|v| v.is_finite()));
}

/// Every shipped config loads with its loader (a typo in one would only show at run time).
#[test]
fn shipped_configs_load() {
    use ndp_ros::train::ppo::PpoRunConfig;
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("config")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = if name.starts_with("collect_") {
            CollectConfig::load(&path).map(|_| ())
        } else if name.starts_with("ppo_") {
            PpoRunConfig::load(&path).map(|_| ())
        } else if name.starts_with("ndp_policy") {
            continue; // ROS parameter files, tested in test/ros_args.rs
        } else {
            RunConfig::load(&path).map(|_| ())
        };
        result.unwrap_or_else(|e| panic!("{name}: {e}"));
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} configs found");
}

/// Two joints move from a random start to a goal that only the camera image shows (a bright
/// 4x4 square), recorded as JointState + mono8 Image bags; `observation: image_positions`.
fn record_image_demos(path: &Path, episodes: u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut w = BagWriter::create(path).unwrap();
    let names: Vec<String> = ["joint_1", "joint_2"].map(String::from).to_vec();
    let steps = 20u64;
    for ep in 0..episodes {
        let goal: [f64; 2] = [rng.random(), rng.random()];
        let start: [f64; 2] = [rng.random(), rng.random()];
        let mut px = vec![0u8; 28 * 28];
        let (gx, gy) = ((goal[0] * 24.0) as usize, (goal[1] * 24.0) as usize);
        for y in gy..gy + 4 {
            for x in gx..gx + 4 {
                px[y * 28 + x] = 255;
            }
        }
        let image = ndp_ros::msgs::Image {
            height: 28,
            width: 28,
            encoding: "mono8".into(),
            step: 28,
            data: px,
            ..Default::default()
        };
        for i in 0..steps {
            // Smoothstep from start to goal over the episode, 20 Hz.
            let s = i as f64 / (steps - 1) as f64;
            let (p, v) = (s * s * (3.0 - 2.0 * s), 6.0 * s * (1.0 - s) / 0.95);
            let t = ep * 10_000_000_000 + i * 50_000_000;
            let js = JointState {
                name: names.clone(),
                position: (0..2)
                    .map(|j| start[j] + (goal[j] - start[j]) * p)
                    .collect(),
                velocity: (0..2).map(|j| (goal[j] - start[j]) * v).collect(),
                ..Default::default()
            };
            w.write("/joint_states", t, &js).unwrap();
            w.write("/camera/image_raw", t, &image).unwrap();
        }
    }
    w.finish().unwrap();
}

/// Images and joint states together train a cnn_state model; the network reads the image
/// (shuffling the images between samples makes it much worse) and the states arrive as
/// recorded.
#[test]
fn image_and_joint_state_bags_train_a_cnn_state_model() {
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("image_demos");
    record_image_demos(&bag, 300);
    let mut cfg = RunConfig::load(&root().join("config/bc_image_state_bag.yaml")).unwrap();
    cfg.train.epochs = 10;
    let b = cfg.bag_data.clone().unwrap();
    let (tr, va, info) = bag_dataset::load(
        &b,
        std::slice::from_ref(&bag),
        cfg.dmp.points(),
        cfg.model.input_size,
    )
    .unwrap();
    assert_eq!((info.episodes, info.validation_episodes), (300, 60));
    assert_eq!((tr.obs_shape.clone(), tr.state_len), (vec![1, 28, 28], 2));
    // A sample's state is its start point y0 (positions only), and its image has the square.
    assert_eq!(&tr.state[..2], &tr.y0[..2]);
    assert!((tr.obs[..28 * 28].iter().sum::<f32>() - 16.0).abs() < 1e-3);
    // Positions and velocities: 4 values, the velocities as recorded.
    let mut bv = b.clone();
    bv.observation = bag_dataset::Observation::ImageState;
    let (trv, _, _) = bag_dataset::load(&bv, &[bag], cfg.dmp.points(), 28).unwrap();
    assert_eq!(trv.state_len, 4);
    assert_eq!(trv.state[2..4], [0.0, 0.0], "an episode starts at rest");

    let dev = Device::Cpu;
    let (train, val) = (
        BcData::from_samples(&tr, 2, &dev).unwrap(),
        BcData::from_samples(&va, 2, &dev).unwrap(),
    );
    let (policy, summary) = train_bc(
        &dir.path().join("run"),
        &cfg,
        &train,
        &val,
        &ProgressBar::hidden(),
    )
    .unwrap();
    let loss = |d: &BcData| {
        ndp_ros::train::eval::trajectory_loss(&policy, d, 64)
            .unwrap()
            .mean
    };
    let learned = loss(&val);
    let last = summary.epochs.last().unwrap().test_loss;
    assert!((learned - last).abs() < 1e-6, "{learned} vs {last}");
    // Staying at the start point: what a policy that cannot see the goal would do first.
    let stay = (val.target.broadcast_sub(&val.y0.unsqueeze(1).unwrap()))
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap() as f64;
    // The same samples with each image moved to another sample.
    let n = val.len() as u32;
    let shift =
        candle_core::Tensor::from_vec((0..n).map(|i| (i + n / 2) % n).collect(), n as usize, &dev)
            .unwrap();
    let mut wrong = val.clone();
    wrong.obs = val.obs.index_select(&shift, 0).unwrap();
    let shuffled = loss(&wrong);
    eprintln!("held-out {learned:.5}, stay {stay:.5}, shuffled images {shuffled:.5}");
    assert!(learned < 0.35 * stay, "held-out {learned} vs stay {stay}");
    assert!(shuffled > 3.0 * learned, "shuffled {shuffled} vs {learned}");
}

/// A cnn_state model needs images with states, and images with states need a cnn_state model.
#[test]
fn image_state_configs_must_match_the_model() {
    use bag_dataset::Observation;
    use ndp_ros::policy::EncoderKind;
    let cfg = RunConfig::load(&root().join("config/bc_image_state_bag.yaml")).unwrap();
    // The error of the example config with one setting changed.
    let refused = |obs: Option<Observation>, encoder: Option<EncoderKind>| {
        let mut c = cfg.clone();
        if let Some(o) = obs {
            c.bag_data.as_mut().unwrap().observation = o;
        }
        if let Some(e) = encoder {
            c.model.encoder = e;
        }
        c.validate().unwrap_err().to_string()
    };
    let e = refused(Some(Observation::Image), None);
    assert!(
        e.contains("bag_data.observation") && e.contains("image_state"),
        "{e}"
    );
    let e = refused(Some(Observation::ImageState), None);
    assert!(
        e.contains("model.state_size") && e.contains("4 state values"),
        "{e}"
    );
    let e = refused(None, Some(EncoderKind::DigitCnn));
    assert!(
        e.contains("model.encoder") && e.contains("cnn_state"),
        "{e}"
    );
}

/// `align: latest` is causal: a sample sees the newest image and state received at or before
/// its time (what the node would have had), never a later one; `nearest` may look ahead.
#[test]
fn latest_alignment_never_reads_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let bag = dir.path().join("causal");
    let names = vec!["joint_1".to_string(), "joint_2".to_string()];
    let mut w = BagWriter::create(&bag).unwrap();
    // States every 50 ms, 0..2 s, position = time in s; images every 100 ms, 40 ms after each
    // tenth of a second, brightness = the image's index.
    for i in 0..=40u64 {
        let t = i * 50_000_000;
        let js = JointState {
            name: names.clone(),
            position: vec![t as f64 * 1e-9, 0.0],
            velocity: vec![1.0, 0.0],
            ..Default::default()
        };
        w.write("/joint_states", t, &js).unwrap();
    }
    for i in 0..20u64 {
        let image = ndp_ros::msgs::Image {
            height: 28,
            width: 28,
            encoding: "mono8".into(),
            step: 28,
            data: vec![(i * 10) as u8; 28 * 28],
            ..Default::default()
        };
        w.write("/camera/image_raw", i * 100_000_000 + 40_000_000, &image)
            .unwrap();
    }
    w.finish().unwrap();
    let cfg = RunConfig::load(&root().join("config/bc_image_state_bag.yaml")).unwrap();
    let mut b = cfg.bag_data.clone().unwrap();
    b.validation_fraction = 0.0;
    b.episodes.split = Split::Bag;
    b.align = bag_dataset::Align::Latest;
    let (tr, _, _) = bag_dataset::load(&b, std::slice::from_ref(&bag), 41, 28).unwrap();
    let n = tr.len();
    assert!(n > 10, "{n} samples");
    let px = 28 * 28;
    // Samples every 50 ms from t = 0; the first image arrives at 40 ms, so sample 0 has none
    // and is skipped: sample j is at t = 50 (j + 1) ms.
    for j in 0..n {
        let t_ms = 50 * (j as u64 + 1);
        let seen = (tr.obs[j * px] * 255.0 / 10.0).round() as u64;
        let newest_before = (t_ms - 40) / 100;
        assert_eq!(seen, newest_before, "sample at {t_ms} ms saw image {seen}");
        assert!((tr.y0[j * 2] as f64 - t_ms as f64 * 1e-3).abs() < 1e-6);
    }
    // `nearest` (no sample skipped: sample 2 is at t = 100 ms) takes image 1, received 40 ms
    // later at 140 ms, over image 0 at 40 ms: a look-ahead that `latest` never makes.
    b.align = bag_dataset::Align::Nearest;
    let (trn, _, _) = bag_dataset::load(&b, &[bag], 41, 28).unwrap();
    let at_100ms = (trn.obs[2 * px] * 255.0 / 10.0).round() as u64;
    assert_eq!(at_100ms, 1, "nearest looks 40 ms ahead at t = 100 ms");
}

/// The reader streams messages in storage order, which a bag does not promise to be time
/// order (several writers, several files): a bag written shuffled gives the same samples as
/// the same messages written in time order.
#[test]
fn samples_do_not_depend_on_the_storage_order() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = ["hand_x", "hand_y", "hand_z"].map(String::from).to_vec();
    let mut msgs: Vec<(u64, JointState, Float64MultiArray)> = vec![];
    for ep in 0..3u64 {
        for i in 0..40u64 {
            let t = ep * 10_000_000_000 + i * 50_000_000;
            let x = (i as f64 * 0.1 + ep as f64).sin();
            let js = JointState {
                name: names.clone(),
                position: vec![x, 0.5 * x, -x],
                ..Default::default()
            };
            let obs = Float64MultiArray {
                data: (0..39).map(|j| x * j as f64).collect(),
                ..Default::default()
            };
            msgs.push((t, js, obs));
        }
    }
    let write = |path: &Path, order: &[usize]| {
        let mut w = BagWriter::create(path).unwrap();
        for &k in order {
            let (t, js, obs) = &msgs[k];
            w.write("/joint_states", *t, js).unwrap();
            w.write("/ndp/observation", *t, obs).unwrap();
        }
        w.finish().unwrap();
    };
    let in_order: Vec<usize> = (0..msgs.len()).collect();
    // A fixed permutation (a stride coprime with 120): every message moved.
    let shuffled: Vec<usize> = (0..msgs.len()).map(|i| (i * 7 + 3) % msgs.len()).collect();
    let (a, b) = (dir.path().join("ordered"), dir.path().join("shuffled"));
    write(&a, &in_order);
    write(&b, &shuffled);
    let mut cfg = bc_config().bag_data.unwrap();
    cfg.episodes.split = Split::Gap;
    for align in [
        bag_dataset::Align::Latest,
        bag_dataset::Align::Interpolate,
        bag_dataset::Align::Nearest,
    ] {
        cfg.align = align;
        let (ta, va, ia) = bag_dataset::load(&cfg, std::slice::from_ref(&a), 41, 0).unwrap();
        let (tb, vb, ib) = bag_dataset::load(&cfg, std::slice::from_ref(&b), 41, 0).unwrap();
        assert_eq!(ia.episodes, 3);
        assert_eq!(ib.episodes, 3, "{align:?}");
        assert!(!ta.is_empty());
        assert_eq!(
            (&ta.obs, &ta.y0, &ta.target),
            (&tb.obs, &tb.y0, &tb.target),
            "{align:?}"
        );
        assert_eq!((&va.obs, &va.target), (&vb.obs, &vb.target), "{align:?}");
    }
}

/// Bags, bundles and the node name observations alike; older bag configs said `topic` for
/// `vector`, and still may.
#[test]
fn the_observation_vocabulary_is_the_bundles() {
    use ndp_ros::policy::deployment::ObservationKind;
    let mut cfg = bc_config();
    let b = cfg.bag_data.as_ref().unwrap();
    assert_eq!(b.observation, ObservationKind::Vector);
    assert_eq!(cfg.deployment().observation, ObservationKind::Vector);
    let old: ObservationKind = serde_yaml::from_str("topic").unwrap();
    assert_eq!(old, ObservationKind::Vector);
    assert_eq!(serde_yaml::to_string(&old).unwrap().trim(), "vector");
    cfg.bag_data.as_mut().unwrap().observation = ObservationKind::ImagePositions;
    assert_eq!(
        cfg.deployment().observation,
        ObservationKind::ImagePositions
    );
}
