//! Built-in tasks against their definition (Meta-World's layout, moves, rewards, success),
//! their scripted experts, and the bridge protocol against a fake bridge with faults.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fake_bridge::{serve, serve_with, Fault};
use ndp_ros::env::bridge::{BridgeConfig, BridgeEnv};
use ndp_ros::env::push::Push;
use ndp_ros::env::reach::{Reach, SUCCESS_DIST};
use ndp_ros::env::{Env, EnvConfig, Task, VecEnv};

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn reach_follows_meta_world_layout_and_moves() {
    let mut env = Reach::new(50, 7);
    let o = env.reset(Some(3)).unwrap();
    assert_eq!(o.len(), 39);
    assert_eq!(
        &o[..3],
        &[0.0, 0.6, 0.2],
        "hand starts at Meta-World's init"
    );
    assert_eq!(
        &o[18..21],
        &o[..3],
        "previous frame equals the first frame at reset"
    );
    let goal = o[36..39].to_vec();
    assert!((-0.1..=0.1).contains(&goal[0]) && (0.8..=0.9).contains(&goal[1]));
    // Same seed, same episode; the action is clipped to [-1, 1] and moves 1 cm per unit.
    assert_eq!(Reach::new(50, 99).reset(Some(3)).unwrap(), o);
    let s = env.step(&[0.5, -3.0, 0.0, 0.0]).unwrap();
    assert!((s.obs[0] - 0.005).abs() < 1e-12);
    assert!((s.obs[1] - 0.59).abs() < 1e-12);
    assert_eq!(
        &s.obs[18..21],
        &o[..3],
        "previous frame is the hand before the step"
    );
    assert!(!s.success && !s.terminated && !s.truncated);
    assert!(s.reward > 0.0 && s.reward < 10.0);
    // A NaN action component moves nothing.
    let s2 = env.step(&[f64::NAN, 0.0, 0.0, 0.0]).unwrap();
    assert_eq!(s2.obs[0], s.obs[0]);
    // A wrong-sized action is an error naming the size.
    let e = env.step(&[0.0; 3]).unwrap_err().to_string();
    assert!(e.contains("expected 4") && e.contains("got 3"), "{e}");
}

#[test]
fn reach_expert_succeeds_and_episodes_truncate() {
    let mut env = Reach::new(50, 0);
    for seed in 0..30 {
        let o = env.reset(Some(seed)).unwrap();
        let goal = o[36..39].to_vec();
        let mut success_at = None;
        for t in 1..=50 {
            let a = env.expert_action().unwrap().unwrap();
            let s = env.step(&a).unwrap();
            if s.success && success_at.is_none() {
                success_at = Some(t);
                assert!(dist(&s.obs[..3], &goal) < SUCCESS_DIST);
                assert_eq!(s.reward, 10.0, "inside the success radius the reward is 10");
            }
            assert_eq!(s.truncated, t == 50, "truncated exactly at the step limit");
        }
        assert!(success_at.is_some(), "expert failed seed {seed}");
    }
}

#[test]
fn push_moves_the_puck_only_on_contact_and_the_expert_pushes_it_home() {
    let mut env = Push::new(150, 0);
    let o = env.reset(Some(1)).unwrap();
    let puck = o[4..7].to_vec();
    assert_eq!(o[7], 1.0, "identity quaternion");
    // High above the puck the hand passes without touching it.
    for _ in 0..10 {
        env.step(&[0.0, 1.0, 0.0, 0.0]).unwrap();
    }
    let o2 = env.step(&[0.0, 0.0, 0.0, 0.0]).unwrap().obs;
    assert_eq!(&o2[4..7], &puck[..], "puck moved without contact");

    let mut successes = 0;
    let n = 100;
    for seed in 0..n {
        env.reset(Some(seed)).unwrap();
        let mut ok = false;
        for _ in 0..150 {
            let a = env.expert_action().unwrap().unwrap();
            ok |= env.step(&a).unwrap().success;
        }
        successes += ok as usize;
    }
    assert!(
        successes >= 95,
        "expert pushed {successes} of {n} pucks home"
    );
}

#[test]
fn vec_env_steps_only_the_given_instances() {
    let cfg = EnvConfig {
        task: Task::Reach,
        max_steps: 10,
        num_envs: 3,
        seed: 5,
        bridge: None,
        ros_bridge: None,
        gazebo: None,
    };
    let mut v = VecEnv::new(&cfg).unwrap();
    let o: Vec<Vec<f64>> = (0..3)
        .map(|e| v.reset(e, Some(e as u64)).unwrap())
        .collect();
    let r = v
        .step(&[Some(vec![1.0, 0.0, 0.0, 0.0]), None, Some(vec![0.0; 4])])
        .unwrap();
    assert!(r[1].is_none());
    assert!((r[0].as_ref().unwrap().obs[0] - o[0][0] - 0.01).abs() < 1e-12);
    let e = v.step(&[None, None]).unwrap_err().to_string();
    assert!(e.contains("expected 3") && e.contains("got 2"), "{e}");
}

fn bridge_cfg(dir: &Path, timeout_s: f64) -> (BridgeConfig, EnvConfig) {
    let b = BridgeConfig {
        env_name: "reach-fake".into(),
        socket: dir.join("bridge-{i}.sock").to_string_lossy().into_owned(),
        spawn: None,
        timeout_s,
        connect_timeout_s: 5.0,
    };
    let e = EnvConfig {
        task: Task::Bridge,
        max_steps: 20,
        num_envs: 1,
        seed: 0,
        bridge: Some(b.clone()),
        ros_bridge: None,
        gazebo: None,
    };
    (b, e)
}

#[test]
fn bridge_round_trip_equals_the_local_task() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = bridge_cfg(dir.path(), 5.0);
    let _t = serve(&dir.path().join("bridge-0.sock"), 20, 0, Fault::None);
    let mut remote = BridgeEnv::connect(&b, &e, 0).unwrap();
    assert_eq!(remote.spec().obs_dim, 39);
    assert_eq!(remote.spec().max_steps, 20);
    let mut local = Reach::new(20, 0);
    assert_eq!(
        remote.reset(Some(11)).unwrap(),
        local.reset(Some(11)).unwrap()
    );
    for t in 0..20 {
        let a = local.expert_action().unwrap().unwrap();
        assert_eq!(
            remote.expert_action().unwrap().unwrap(),
            a,
            "expert at step {t}"
        );
        let (r, l) = (remote.step(&a).unwrap(), local.step(&a).unwrap());
        assert_eq!(r, l, "step {t}");
    }
}

#[test]
fn bridge_actions_are_clipped_to_the_bounds_it_declares() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = bridge_cfg(dir.path(), 5.0);
    let sock = dir.path().join("bridge-0.sock");
    // No bounds declared: Meta-World's [-1, 1].
    let (_t, got) = serve_with(&sock, 20, 0, Fault::None, None);
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    assert_eq!(env.action_bounds(), (&[-1.0; 4][..], &[1.0; 4][..]));
    env.reset(Some(0)).unwrap();
    env.step(&[2.0, -2.0, 0.5, 1.5]).unwrap();
    assert_eq!(got.lock().unwrap().as_slice(), &[vec![1.0, -1.0, 0.5, 1.0]]);
    drop(env);
    std::fs::remove_file(&sock).unwrap();
    // A position-controlled arm declares its joint ranges: 2 rad passes, 3 is clipped.
    let lo = vec![-2.6, -2.6, -0.5, 0.0];
    let hi = vec![2.6, 2.6, 0.5, 0.1];
    let (_t, got) = serve_with(&sock, 20, 0, Fault::None, Some((lo.clone(), hi.clone())));
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    assert_eq!(env.action_bounds(), (&lo[..], &hi[..]));
    env.reset(Some(0)).unwrap();
    env.step(&[2.0, -3.0, 0.7, -1.0]).unwrap();
    assert_eq!(got.lock().unwrap().as_slice(), &[vec![2.0, -2.6, 0.5, 0.0]]);
    drop(env);
    std::fs::remove_file(&sock).unwrap();
    // Bounds that do not fit the action are refused at connect, naming the key.
    let (_t, _) = serve_with(
        &sock,
        20,
        0,
        Fault::None,
        Some((vec![-1.0; 3], vec![1.0; 4])),
    );
    let err = BridgeEnv::connect(&b, &e, 0).err().unwrap().to_string();
    assert!(
        err.contains("act_low") && err.contains("4 finite numbers"),
        "{err}"
    );
}

#[test]
fn bridge_faults_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (b, e) = bridge_cfg(dir.path(), 0.5);
    let sock = dir.path().join("bridge-0.sock");

    // NaN observation values travel as null and arrive as NaN; a null reward as NaN.
    let _t = serve(&sock, 20, 0, Fault::NanObsAt(2));
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    env.reset(Some(0)).unwrap();
    assert!(env
        .step(&[0.0; 4])
        .unwrap()
        .obs
        .iter()
        .all(|v| v.is_finite()));
    assert!(env.step(&[0.0; 4]).unwrap().obs.iter().all(|v| v.is_nan()));
    drop(env);
    std::fs::remove_file(&sock).unwrap();

    let _t = serve(&sock, 20, 0, Fault::DieAt(3));
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    env.reset(None).unwrap();
    env.step(&[0.0; 4]).unwrap();
    env.step(&[0.0; 4]).unwrap();
    let err = env.step(&[0.0; 4]).unwrap_err().to_string();
    assert!(
        err.contains("bridge-0.sock")
            && err.contains("closed the connection")
            && err.contains("`step`"),
        "{err}"
    );
    drop(env);
    std::fs::remove_file(&sock).unwrap();

    let _t = serve(&sock, 20, 0, Fault::HangAt(1));
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    env.reset(None).unwrap();
    let t0 = Instant::now();
    let err = env.step(&[0.0; 4]).unwrap_err().to_string();
    assert!(
        err.contains("no reply to `step`") && err.contains("hung"),
        "{err}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "the timeout did not fire"
    );
    drop(env);
    std::fs::remove_file(&sock).unwrap();

    let _t = serve(&sock, 20, 0, Fault::ResetError);
    let mut env = BridgeEnv::connect(&b, &e, 0).unwrap();
    let err = env.reset(None).unwrap_err().to_string();
    assert!(
        err.contains("`reset` failed in the bridge: MuJoCo: model failed to load"),
        "{err}"
    );
    drop(env);

    // Nobody listening: a clear error after the connect timeout, naming the socket.
    let (mut b2, e2) = bridge_cfg(dir.path(), 0.5);
    b2.connect_timeout_s = 0.2;
    b2.socket = dir
        .path()
        .join("nobody-{i}.sock")
        .to_string_lossy()
        .into_owned();
    let err = BridgeEnv::connect(&b2, &e2, 0).err().unwrap().to_string();
    assert!(
        err.contains("nobody-0.sock") && err.contains("cannot connect"),
        "{err}"
    );
}

#[test]
fn bridge_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, mut e) = bridge_cfg(dir.path(), 1.0);
    b.socket = "/tmp/one.sock".into();
    e.bridge = Some(b);
    let err = e.validate().unwrap_err().to_string();
    assert!(
        err.contains("env.bridge.socket") && err.contains("{i}"),
        "{err}"
    );
    e.bridge = None;
    let err = e.validate().unwrap_err().to_string();
    assert!(err.contains("env.bridge"), "{err}");
}
