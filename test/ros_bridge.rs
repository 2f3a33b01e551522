//! The simulator bridge over ROS 2 topics: the in-memory transport (protocol, equality with the
//! local task, a PPO run through it, a dead bridge) and the embedded DDS transport (two
//! loopback-only RustDDS participants, domain 74).

mod common;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use indicatif::ProgressBar;
use ndp_ros::env::reach::Reach;
use ndp_ros::env::ros_bridge::{serve, RosBridgeEnv};
use ndp_ros::env::{Env, VecEnv};
use ndp_ros::ros::memory::MemoryTransport;
use ndp_ros::ros::{ParamMap, Transport};
use ndp_ros::train::ppo::{train_ppo_on, PpoRunConfig};

fn serve_reach<T: Transport + Clone>(
    t: &T,
    ns: &str,
    seed: u64,
) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (t, ns, flag) = (t.clone(), ns.to_string(), stop.clone());
    let h = std::thread::spawn(move || {
        let mut env = Reach::new(20, seed);
        serve(&t, &ns, &mut env, &flag).unwrap();
    });
    (stop, h)
}

fn round_trip_equals_local(remote: &mut RosBridgeEnv) {
    assert_eq!(remote.spec().obs_dim, 39);
    assert_eq!(remote.spec().act_dim, 4);
    assert_eq!(remote.spec().max_steps, 20);
    let mut local = Reach::new(20, 0);
    assert_eq!(
        remote.reset(Some(9)).unwrap(),
        local.reset(Some(9)).unwrap()
    );
    for t in 0..20 {
        let a = local.expert_action().unwrap().unwrap();
        assert_eq!(
            remote.step(&a).unwrap(),
            local.step(&a).unwrap(),
            "step {t}"
        );
    }
}

#[test]
fn memory_transport_round_trip_training_and_a_dead_bridge() {
    let t = MemoryTransport::new("trainer", ParamMap::new());
    let (stop0, h0) = serve_reach(&t, "/sim0", 0);
    let (stop1, h1) = serve_reach(&t, "/sim1", 1);
    let mut remote = RosBridgeEnv::connect(&t, "/sim0", 5.0).unwrap();
    round_trip_equals_local(&mut remote);

    // PPO through two bridged instances.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ppo_reach.yaml");
    let mut cfg = PpoRunConfig::load(&path).unwrap();
    cfg.env.num_envs = 2;
    cfg.ppo.rollout_steps = 20;
    cfg.ppo.minibatches = 2;
    cfg.ppo.epochs = 2;
    cfg.ppo.total_steps = 80;
    cfg.ppo.eval_episodes = 2;
    cfg.ppo.eval_every = 0;
    let envs = VecEnv::from_envs(vec![
        Box::new(RosBridgeEnv::connect(&t, "/sim0", 5.0).unwrap()),
        Box::new(RosBridgeEnv::connect(&t, "/sim1", 5.0).unwrap()),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = train_ppo_on(dir.path(), &cfg, envs, false, &ProgressBar::hidden()).unwrap();
    assert_eq!(s.env_steps, 80);

    // The simulator goes away: a clear error after the timeout, naming the bridge.
    let mut short = RosBridgeEnv::connect(&t, "/sim1", 0.5).unwrap();
    short.reset(None).unwrap();
    stop1.store(true, Ordering::Relaxed);
    h1.join().unwrap();
    let e = short.step(&[0.0; 4]).unwrap_err().to_string();
    assert!(
        e.contains("/sim1") && e.contains("no reply to `step`"),
        "{e}"
    );
    stop0.store(true, Ordering::Relaxed);
    h0.join().unwrap();
}

#[cfg(feature = "dds")]
#[test]
fn dds_loopback_round_trip() {
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    let opts = DdsOptions {
        domain_id: 74,
        loopback_only: true,
    };
    let sim = Arc::new(DdsTransport::new(&opts, "/", "simulator", ParamMap::new()).unwrap());
    let trainer = DdsTransport::new(&opts, "/", "trainer", ParamMap::new()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (s, flag) = (sim.clone(), stop.clone());
    let h = std::thread::spawn(move || {
        let mut env = Reach::new(20, 0);
        serve(&*s, "/dds_sim", &mut env, &flag).unwrap();
    });
    // Discovery takes a moment: connect re-sends its request until the bridge answers.
    let mut remote = RosBridgeEnv::connect(&trainer, "/dds_sim", 30.0).unwrap();
    round_trip_equals_local(&mut remote);
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

/// The Python bridge (bridges/mujoco/ros_bridge.py over Cyclone DDS, no rclpy) against the
/// trainer's side on the embedded RustDDS transport: both loopback-only, domain 77. Its
/// `point-v0` task needs no MuJoCo; the Meta-World tasks go through the same three calls.
#[cfg(feature = "dds")]
#[test]
fn python_cyclone_dds_bridge_serves_the_trainer() {
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    let _bridge = common::peers::KillOnDrop(
        std::process::Command::new(common::peers::cyclone_python())
            .args(["bridges/mujoco/ros_bridge.py", "--namespace", "/pysim0"])
            .args(["--env-name", "point-v0", "--domain", "77"])
            .env("CYCLONEDDS_URI", common::peers::cyclone_uri())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the Python bridge starts"),
    );
    let opts = DdsOptions {
        domain_id: 77,
        loopback_only: true,
    };
    let trainer = DdsTransport::new(&opts, "/", "trainer", ParamMap::new()).unwrap();
    let mut env = RosBridgeEnv::connect(&trainer, "/pysim0", 60.0).unwrap();
    assert_eq!(
        (env.spec().obs_dim, env.spec().act_dim, env.spec().max_steps),
        (4, 2, 50)
    );
    let obs = env.reset(Some(5)).unwrap();
    assert_eq!(&obs[..2], &[0.0, 0.0]);
    assert_eq!(env.reset(Some(5)).unwrap(), obs, "a seed fixes the goal");
    assert_ne!(env.reset(Some(6)).unwrap(), obs);
    let goal = env.reset(Some(5)).unwrap()[2..].to_vec();
    // Each step moves 0.1 per unit of (clipped) action; head for the goal until success.
    let (mut pos, mut success, mut steps) = ([0.0f64, 0.0], false, 0);
    while !success {
        let a: Vec<f64> = (0..2).map(|i| (goal[i] - pos[i]) / 0.1).collect();
        let s = env.step(&a).unwrap();
        for i in 0..2 {
            pos[i] += 0.1 * a[i].clamp(-1.0, 1.0);
            assert!(
                (s.obs[i] - pos[i]).abs() < 1e-12,
                "step {steps}: {:?}",
                s.obs
            );
        }
        let d = ((pos[0] - goal[0]).powi(2) + (pos[1] - goal[1]).powi(2)).sqrt();
        assert!((s.reward + d).abs() < 1e-12);
        success = s.success;
        steps += 1;
        assert!(steps < 30, "never reached the goal");
    }
    // The trainer goes away (its writers unregister: invalid samples on the bridge's side)
    // and a new one connects, as after a crash and `--resume`: the bridge still answers.
    drop(env);
    drop(trainer);
    let again = DdsTransport::new(&opts, "/", "trainer2", ParamMap::new()).unwrap();
    let mut env = RosBridgeEnv::connect(&again, "/pysim0", 60.0).unwrap();
    assert_eq!(env.reset(Some(5)).unwrap()[2..], goal[..]);
}
