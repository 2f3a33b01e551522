//! PPO with NDP: GAE and log-probabilities against hand-computed oracles, the NDP actor's
//! actions against the DMP, learning the built-in reach task, checkpoints and resume, and
//! faulty environments (NaN, dead bridge) that must neither crash nor corrupt a checkpoint.

mod common;

use std::path::Path;

use candle_core::{Device, Tensor};
use common::fake_bridge::{serve, Fault};
use indicatif::ProgressBar;
use ndp_ros::env::bridge::BridgeConfig;
use ndp_ros::env::{make, EnvConfig, Task, VecEnv};
use ndp_ros::train::ppo::buffer::Buffer;
use ndp_ros::train::ppo::{train_ppo, train_ppo_on, ActionMode, ActorKind, Agent, PpoRunConfig};

fn reach_config() -> PpoRunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ppo_reach.yaml");
    PpoRunConfig::load(&path).unwrap()
}

/// A small, quick config (a few updates) for plumbing tests.
fn tiny(mut cfg: PpoRunConfig) -> PpoRunConfig {
    cfg.env.num_envs = 2;
    cfg.env.max_steps = 20;
    cfg.ppo.rollout_steps = 20;
    cfg.ppo.minibatches = 2;
    cfg.ppo.epochs = 2;
    cfg.ppo.total_steps = 160; // 4 updates
    cfg.ppo.eval_episodes = 2;
    cfg.ppo.eval_every = 0;
    cfg.ppo.checkpoint_every = 1;
    cfg
}

#[test]
fn gae_matches_the_recursion_written_out() {
    // One instance, 2 calls of k = 2: sub-steps t0..t3, the episode ends after t1, t3 unrun.
    let mut b = Buffer::new(2, 1, 2, 1, 1);
    let r = [1.0, 2.0, 3.0, 0.0];
    let v = [0.5f32, 0.25, 1.5, 0.0];
    for t in 0..4 {
        b.reward[t] = r[t];
        b.value[t] = v[t];
        b.executed[t] = t < 3;
    }
    b.done[1] = true;
    let (g, l) = (0.9, 0.8);
    b.compute_gae(&[2.0], g, l);
    // t2: bootstraps from the last value 2.0 (t3 never ran).
    let d2 = 3.0 + g * 2.0 - 1.5;
    // t1: terminal.
    let d1 = 2.0 - 0.25;
    let d0 = 1.0 + g * 0.25 - 0.5;
    let a0 = d0 + g * l * d1;
    let want = [a0, d1, d2];
    for t in 0..3 {
        assert!(
            (b.adv[t] as f64 - want[t]).abs() < 1e-6,
            "t{t}: {} vs {}",
            b.adv[t],
            want[t]
        );
        assert!((b.ret[t] as f64 - (want[t] + v[t] as f64)).abs() < 1e-6);
    }
}

#[test]
fn log_prob_and_entropy_are_the_gaussian_ones() {
    let cfg = reach_config();
    let spec = make(&cfg.env, 0).unwrap().spec().clone();
    let agent = Agent::new(&cfg.policy, &spec, 0).unwrap();
    let dev = Device::Cpu;
    let sigma = (cfg.policy.init_log_std).exp();
    let means = Tensor::new(&[[[0.1f32, -0.2, 0.3, 0.0], [0.0, 0.0, 0.0, 0.5]]], &dev).unwrap();
    let acts = Tensor::new(&[[[0.2f32, -0.1, 0.0, 1.0], [0.0, 0.0, 0.0, 0.5]]], &dev).unwrap();
    let lp = agent
        .log_prob(&means, &acts)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let m = means.to_vec3::<f32>().unwrap();
    let a = acts.to_vec3::<f32>().unwrap();
    for j in 0..2 {
        let want: f64 = (0..4)
            .map(|d| {
                let z = (a[0][j][d] - m[0][j][d]) as f64 / sigma;
                -0.5 * z * z - sigma.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            })
            .sum();
        assert!((lp[0][j] as f64 - want).abs() < 1e-4, "sub-action {j}");
    }
    let ent = agent.entropy().unwrap().to_scalar::<f32>().unwrap() as f64;
    let want = 4.0 * (0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + sigma.ln());
    assert!((ent - want).abs() < 1e-4);
}

/// The reach config with large initial outputs (so trajectories are non-trivial), its spec,
/// and a batch of two observations with their DMP starts y0 and dy0.
fn actor_fixture() -> (PpoRunConfig, ndp_ros::env::EnvSpec, Tensor, Tensor, Tensor) {
    let mut cfg = reach_config();
    cfg.policy.goal_scale = 500.0;
    let spec = make(&cfg.env, 0).unwrap().spec().clone();
    let dev = Device::Cpu;
    let obs = Tensor::new(&[[0.3f32; 39], [-0.7f32; 39]], &dev).unwrap();
    let y0 = Tensor::new(&[[60.0f32, 70.0, 20.0, 0.0], [0.0, 1.0, 2.0, 3.0]], &dev).unwrap();
    let dy0 = Tensor::new(&[[0.0f32; 4], [1.0, -1.0, 0.0, 0.0]], &dev).unwrap();
    (cfg, spec, obs, y0, dy0)
}

#[test]
fn ndp_actions_are_differences_of_one_dmp_rollout() {
    let (mut cfg, spec, obs, y0, dy0) = actor_fixture();
    let delta = Agent::new(&cfg.policy, &spec, 3).unwrap();
    cfg.policy.mode = ActionMode::Position;
    let position = Agent::new(&cfg.policy, &spec, 3).unwrap();
    let d = delta
        .means(&obs, &y0, &dy0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    let p = position
        .means(&obs, &y0, &dy0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    let y0v = y0.to_vec2::<f32>().unwrap();
    let s = cfg.policy.y0_scale as f32;
    let mut moved = 0.0f32;
    for b in 0..2 {
        for dim in 0..4 {
            // Position j * scale = y0 + sum of the first j + 1 deltas.
            let mut y = y0v[b][dim];
            for j in 0..5 {
                y += d[b][j][dim];
                let got = p[b][j][dim] * s;
                assert!(
                    (got - y).abs() < 1e-3 * (1.0 + y.abs()),
                    "b{b} d{dim} j{j}: {got} vs {y}"
                );
            }
            moved += (y - y0v[b][dim]).abs();
        }
    }
    assert!(
        moved > 1e-3,
        "the trajectories did not move: test is vacuous"
    );
    // Deltas do not depend on where the hand is (the goal is predicted relative to y0).
    let shifted = (&y0 + 25.0).unwrap();
    let d2 = delta
        .means(&obs, &shifted, &dy0)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    for b in 0..2 {
        for j in 0..5 {
            for dim in 0..4 {
                assert!((d2[b][j][dim] - d[b][j][dim]).abs() < 1e-3);
            }
        }
    }
}

#[test]
fn ppo_with_ndp_learns_reach() {
    let cfg = reach_config();
    let dir = tempfile::tempdir().unwrap();
    let s = train_ppo(dir.path(), &cfg, false, &ProgressBar::hidden()).unwrap();
    assert_eq!(s.env_steps, cfg.ppo.total_steps);
    assert!(
        s.success_rate >= 0.9,
        "NDP reached {} of {} evaluation goals",
        s.success_rate,
        cfg.ppo.eval_episodes
    );
    // The learning curve and one metrics line per update exist.
    assert!(
        dir.path()
            .join("learning_curve.png")
            .metadata()
            .unwrap()
            .len()
            > 1000
    );
    let lines = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let updates = cfg.ppo.total_steps as usize / (cfg.ppo.rollout_steps * cfg.env.num_envs);
    assert_eq!(lines.lines().count(), updates);
    // The exported bundle, served through the node's own executor, reaches as the agent does.
    let bundle = dir.path().join("policy");
    let (_, policy, _) =
        ndp_ros::train::checkpoint::load(&bundle, &candle_core::Device::Cpu).unwrap();
    let deploy = ndp_ros::policy::deployment::Deployment::load(&bundle)
        .unwrap()
        .unwrap();
    assert_eq!(deploy.position_scale, 100.0);
    assert!(deploy.normalization.is_some());
    let mut env = cfg.env.clone();
    env.num_envs = 1;
    let mut envs = ndp_ros::env::VecEnv::new(&env).unwrap();
    let served = ndp_ros::train::sim_eval::bundle_success(
        &policy,
        &deploy,
        &mut envs,
        50,
        1 << 20,
        ndp_ros::train::sim_eval::EnvActions::Deltas(0.01),
    )
    .unwrap();
    eprintln!(
        "PPO bundle served through the node's executor: {served}; agent: {}",
        s.success_rate
    );
    assert!(
        served >= s.success_rate - 0.15,
        "served through the node's executor: {served}; the agent's own evaluation: {}",
        s.success_rate
    );
}

#[test]
fn resume_continues_and_refuses_another_config() {
    let cfg = tiny(reach_config());
    let dir = tempfile::tempdir().unwrap();
    let first = train_ppo(dir.path(), &cfg, false, &ProgressBar::hidden()).unwrap();
    assert_eq!(first.env_steps, 160);
    let mut more = cfg.clone();
    more.ppo.total_steps = 240;
    let second = train_ppo(dir.path(), &more, true, &ProgressBar::hidden()).unwrap();
    assert_eq!(
        second.env_steps, 240,
        "resumed from 160 and ran two more updates"
    );
    let lines = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let updates: Vec<u64> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["update"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(updates, vec![1, 2, 3, 4, 5, 6]);
    let mut other = more.clone();
    other.ppo.lr = 1e-3;
    let e = train_ppo(dir.path(), &other, true, &ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(e.contains("different config"), "{e}");
    // A truncated weights file is a clear error naming it.
    let latest = std::fs::read_to_string(dir.path().join("latest")).unwrap();
    let w = dir.path().join(latest.trim()).join("weights.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let e = train_ppo(dir.path(), &more, true, &ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(e.contains("weights.safetensors"), "{e}");
}

#[test]
fn baselines_run_in_the_same_trainer() {
    for kind in [ActorKind::Ppo, ActorKind::PpoMulti] {
        let mut cfg = tiny(reach_config());
        cfg.policy.kind = kind;
        cfg.policy.dmp = None;
        if kind == ActorKind::Ppo {
            cfg.policy.k = 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let s = train_ppo(dir.path(), &cfg, false, &ProgressBar::hidden()).unwrap();
        assert_eq!(s.env_steps, 160, "{kind:?}");
    }
    let mut cfg = tiny(reach_config());
    cfg.policy.kind = ActorKind::Ppo;
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("policy.k"), "{e}");
}

fn bridge_envs(dir: &Path, faults: &[Fault]) -> (PpoRunConfig, VecEnv) {
    let mut cfg = tiny(reach_config());
    let b = BridgeConfig {
        env_name: "reach-fake".into(),
        socket: dir.join("b-{i}.sock").to_string_lossy().into_owned(),
        spawn: None,
        timeout_s: 2.0,
        connect_timeout_s: 5.0,
    };
    cfg.env = EnvConfig {
        task: Task::Bridge,
        max_steps: 20,
        num_envs: faults.len(),
        seed: 0,
        bridge: Some(b),
        ros_bridge: None,
        gazebo: None,
    };
    for (i, &f) in faults.iter().enumerate() {
        serve(&dir.join(format!("b-{i}.sock")), 20, i as u64, f);
    }
    let envs = VecEnv::new(&cfg.env).unwrap();
    (cfg, envs)
}

#[test]
fn nan_observations_and_rewards_skip_the_episode() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, envs) = bridge_envs(dir.path(), &[Fault::NanObsAt(7), Fault::NanRewardAt(30)]);
    let run = dir.path().join("run");
    let s = train_ppo_on(&run, &cfg, envs, false, &ProgressBar::hidden()).unwrap();
    assert_eq!(s.nan_skipped, 2);
    assert!(s.env_steps >= 160);
    // Weights stay finite.
    let latest = std::fs::read_to_string(run.join("latest")).unwrap();
    let t = candle_core::safetensors::load(
        run.join(latest.trim()).join("weights.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    for (name, v) in t {
        let v = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{name} has non-finite values"
        );
    }
}

#[test]
fn a_dead_bridge_stops_training_with_an_error_and_a_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // Dies in the third rollout (20 steps a rollout per instance).
    let (cfg, envs) = bridge_envs(dir.path(), &[Fault::None, Fault::DieAt(45)]);
    let run = dir.path().join("run");
    let e = train_ppo_on(&run, &cfg, envs, false, &ProgressBar::hidden())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b-1.sock") && e.contains("closed the connection"),
        "{e}"
    );
    // The checkpoint of update 2 is complete, and the run resumes from it on fresh bridges.
    let latest = std::fs::read_to_string(run.join("latest")).unwrap();
    assert_eq!(latest.trim(), "ckpt-000002");
    for i in 0..2 {
        std::fs::remove_file(dir.path().join(format!("b-{i}.sock"))).unwrap();
    }
    let (_, envs) = bridge_envs(dir.path(), &[Fault::None, Fault::None]);
    let mut more = cfg.clone();
    more.ppo.total_steps = 200;
    let s = train_ppo_on(&run, &more, envs, true, &ProgressBar::hidden()).unwrap();
    assert_eq!(
        s.env_steps, 200,
        "resumed at 80 steps and ran three more updates"
    );
}

#[test]
fn learned_a_z_starts_equal_to_the_closed_form_and_gets_a_gradient() {
    let (mut cfg, spec, obs, y0, dy0) = actor_fixture();
    let closed = Agent::new(&cfg.policy, &spec, 3).unwrap();
    cfg.policy.learn_a_z = true;
    let learned = Agent::new(&cfg.policy, &spec, 3).unwrap();
    let a = closed.means(&obs, &y0, &dy0).unwrap();
    let b = learned.means(&obs, &y0, &dy0).unwrap();
    let diff = (&a - &b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let size = a
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(size > 1e-2, "vacuous: the actions are all near zero");
    assert!(
        diff < 1e-4 * size.max(1.0),
        "unrolled vs closed form: {diff}"
    );
    let grads = b.sqr().unwrap().sum_all().unwrap().backward().unwrap();
    let vars = learned.varmap.data().lock().unwrap();
    let g = grads
        .get(vars["actor.log_a_z"].as_tensor())
        .expect("a gradient for log a_z");
    assert!(g.to_scalar::<f32>().unwrap().abs() > 0.0);
    // And it trains in the same loop.
    drop(vars);
    let dir = tempfile::tempdir().unwrap();
    let s = train_ppo(dir.path(), &tiny(cfg), false, &ProgressBar::hidden()).unwrap();
    assert_eq!(s.env_steps, 160);
}
