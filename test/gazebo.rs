//! The Gazebo task's message mapping against a fake gz sim + ros_gz_bridge on the in-memory
//! transport (Gazebo cannot run here): the fake speaks the ros_gz topics (JointState stamped
//! in sim time with extra joints in another order, one std_msgs/Float64 command topic per joint
//! under the model's namespace, by the ROS names that bridges/gazebo/bridge.yaml maps gz's
//! topics to), moves its joints towards the commands and records them. Also: the shipped config
//! loads, and a topic that is not a valid ROS 2 name is a config error naming the key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::StreamExt;
use ndp_ros::env::gazebo::{GazeboConfig, GazeboEnv};
use ndp_ros::env::Env;
use ndp_ros::msgs::{Float64, Header, JointState, Time};
use ndp_ros::ros::memory::MemoryTransport;
use ndp_ros::ros::{ParamMap, Qos, Transport};

/// Sim seconds per fake physics tick (one joint state per tick).
const TICK: f64 = 0.01;

fn cfg() -> GazeboConfig {
    serde_yaml::from_str(
        r#"
namespace: /robot{i}
joints: [x, y, z]
joint_states: /joint_states
command: /model/gantry/joint/{joint}/cmd_pos
step_s: 0.05
action_scale: 0.02
home: [0.0, 0.0, 0.3]
goal_low: [-0.1, -0.1, 0.2]
goal_high: [0.1, 0.1, 0.4]
success_radius: 0.01
settle_tolerance: 0.002
timeout_s: 5
"#,
    )
    .unwrap()
}

#[derive(Default)]
struct Fake {
    /// (topic, value, sim time) of every command received.
    commands: Vec<(String, f64, f64)>,
    q: [f64; 3],
    target: [f64; 3],
    sim: f64,
}

struct FakeGz {
    state: Arc<Mutex<Fake>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for FakeGz {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

/// A fake simulator for robot `ns`: joints follow their commanded targets (first order, half
/// the gap per tick); `drop_z` leaves joint z out of the states, `nan_every` makes every n-th
/// state NaN.
fn fake_gz(t: &MemoryTransport, ns: &str, drop_z: bool, nan_every: usize) -> FakeGz {
    let state = Arc::new(Mutex::new(Fake {
        q: [0.05, -0.05, 0.1],
        target: [0.05, -0.05, 0.1],
        ..Default::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (j, name) in ["x", "y", "z"].into_iter().enumerate() {
        let topic = format!("{ns}/model/gantry/joint/{name}/cmd_pos");
        let mut sub = t.subscribe::<Float64>(&topic, Qos::DEFAULT).unwrap();
        let (st, stop) = (state.clone(), stop.clone());
        // Detached: it ends with the test process (a stream has no timeout to poll the flag).
        std::thread::spawn(move || {
            futures::executor::block_on(async {
                while let Some(m) = sub.next().await {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let mut s = st.lock().unwrap();
                    s.target[j] = m.data;
                    let sim = s.sim;
                    s.commands.push((topic.clone(), m.data, sim));
                }
            })
        });
    }
    let publisher = t
        .publisher::<JointState>(&format!("{ns}/joint_states"), Qos::SENSOR_DATA)
        .unwrap();
    let (st, stop2) = (state.clone(), stop.clone());
    threads.push(std::thread::spawn(move || {
        let mut n = 0usize;
        while !stop2.load(Ordering::SeqCst) {
            let msg = {
                let mut s = st.lock().unwrap();
                let before = s.q;
                for j in 0..3 {
                    s.q[j] += 0.5 * (s.target[j] - s.q[j]);
                }
                s.sim += TICK;
                n += 1;
                // gz's order is the model's, with a joint the task does not use.
                let mut name = vec!["gripper".to_string(), "z".into(), "y".into(), "x".into()];
                let mut position = vec![0.0, s.q[2], s.q[1], s.q[0]];
                let mut velocity: Vec<f64> = vec![
                    0.0,
                    (s.q[2] - before[2]) / TICK,
                    (s.q[1] - before[1]) / TICK,
                    (s.q[0] - before[0]) / TICK,
                ];
                if drop_z {
                    name.remove(1);
                    position.remove(1);
                    velocity.remove(1);
                }
                if nan_every > 0 && n % nan_every == 0 {
                    position[1] = f64::NAN;
                }
                JointState {
                    header: Header {
                        stamp: Time::from_nanos((s.sim * 1e9).round() as i64),
                        frame_id: String::new(),
                    },
                    name,
                    position,
                    velocity,
                    effort: vec![],
                }
            };
            publisher.publish(&msg).unwrap();
            // 1 ms of wall time per 10 ms of sim time: commands land within a tick.
            std::thread::sleep(Duration::from_millis(1));
        }
    }));
    FakeGz {
        state,
        stop,
        threads,
    }
}

/// Waits (up to 2 s: the fake records commands on its own threads) until the newest command
/// on `joint`'s topic is `want`, and returns the newest one then.
fn command_becomes(fake: &FakeGz, joint: &str, want: f64) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let got = last_command(fake, joint);
        if got == want || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn last_command(fake: &FakeGz, joint: &str) -> f64 {
    let topic = format!("/robot1/model/gantry/joint/{joint}/cmd_pos");
    let s = fake.state.lock().unwrap();
    s.commands
        .iter()
        .rev()
        .find(|c| c.0 == topic)
        .unwrap_or_else(|| panic!("no command on {topic}"))
        .1
}

#[test]
fn topics_commands_and_the_reach_task_map_as_ros_gz_expects() {
    let t = MemoryTransport::new("trainer", ParamMap::new());
    let fake = fake_gz(&t, "/robot1", false, 7);
    let mut env = GazeboEnv::connect(&t, &cfg(), 1, 40, 0).unwrap();
    assert_eq!((env.spec().obs_dim, env.spec().act_dim), (9, 3));

    // Reset drives every joint to home on its own topic and waits until it settles.
    let obs = env.reset(Some(3)).unwrap();
    for (j, name) in ["x", "y", "z"].into_iter().enumerate() {
        assert_eq!(last_command(&fake, name), cfg().home[j], "{name}");
        assert!((obs[j] - cfg().home[j]).abs() <= 0.002, "{obs:?}");
    }
    let goal = obs[6..9].to_vec();
    let c = cfg();
    for j in 0..3 {
        assert!(
            goal[j] >= c.goal_low[j] && goal[j] <= c.goal_high[j],
            "{goal:?}"
        );
    }
    assert_eq!(
        env.reset(Some(3)).unwrap()[6..9],
        goal[..],
        "a seed fixes the goal"
    );
    assert_ne!(env.reset(Some(4)).unwrap()[6..9], goal[..]);
    env.reset(Some(3)).unwrap();

    // A step: target = previous target (home after a reset) + action * action_scale per joint
    // (clipped; NaN holds), and it lasts step_s of sim time by the joint states' stamps.
    let t0 = env.sim_time();
    let home = cfg().home;
    let mut taken = 0;
    let step = env.step(&[1.0, -3.0, f64::NAN]).unwrap();
    taken += 1;
    assert_eq!(command_becomes(&fake, "x", home[0] + 0.02), home[0] + 0.02);
    assert_eq!(
        command_becomes(&fake, "y", home[1] - 0.02),
        home[1] - 0.02,
        "clipped to -1"
    );
    assert_eq!(last_command(&fake, "z"), home[2], "NaN action: hold");
    assert!(
        env.sim_time() >= t0 + 0.05 - 1e-9,
        "{} vs {t0}",
        env.sim_time()
    );
    // Holding (action 0) the joints settle at the new targets, and the observation carries
    // their positions and velocities.
    let mut seen = vec![step];
    while (seen.last().unwrap().obs[0] - (home[0] + 0.02)).abs() > 0.002 && seen.len() < 20 {
        seen.push(env.step(&[0.0, 0.0, 0.0]).unwrap());
        taken += 1;
    }
    let last = &seen.last().unwrap().obs;
    assert!((last[0] - (home[0] + 0.02)).abs() <= 0.002, "{last:?}");
    assert!((last[1] - (home[1] - 0.02)).abs() <= 0.002, "{last:?}");
    assert!(
        seen.iter().any(|s| s.obs[3] > 0.0),
        "x moved up: a positive velocity"
    );
    assert!(
        seen.iter().any(|s| s.obs[4] < 0.0),
        "y moved down: a negative velocity"
    );
    let step = seen.pop().unwrap();
    // Time spent elsewhere (a policy update) leaves states queued: the next step starts
    // from the newest one, so its command is relative to the latest target, not a stale one.
    std::thread::sleep(Duration::from_millis(30));
    let before = env.sim_time();
    env.step(&[0.0, 0.0, 1.0]).unwrap();
    taken += 1;
    assert!(
        env.sim_time() >= before + 0.05 + 0.05,
        "the queued states were skipped"
    );
    assert_eq!(command_becomes(&fake, "z", home[2] + 0.02), home[2] + 0.02);
    assert_eq!(
        last_command(&fake, "x"),
        home[0] + 0.02,
        "action 0 holds the target"
    );
    let dist = |o: &[f64]| {
        (0..3)
            .map(|j| (o[j] - o[6 + j]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    assert!((step.reward + dist(&step.obs)).abs() < 1e-12);

    // The expert reaches the goal: success, then truncation at max_steps.
    let mut succeeded = false;
    let mut steps = taken;
    loop {
        let a = env.expert_action().unwrap().unwrap();
        let s = env.step(&a).unwrap();
        steps += 1;
        assert!(
            s.obs.iter().all(|v| v.is_finite()),
            "NaN states are skipped"
        );
        succeeded |= s.success;
        if s.truncated {
            break;
        }
    }
    assert_eq!(steps, 40);
    assert!(succeeded, "the expert reaches within 0.01");
    assert!(env.nan_dropped > 0, "every 7th state was NaN");
    drop(fake);
}

#[test]
fn a_missing_joint_or_no_simulator_is_a_clear_error() {
    let t = MemoryTransport::new("trainer", ParamMap::new());
    let fake = fake_gz(&t, "/robot1", true, 0);
    let e = GazeboEnv::connect(&t, &cfg(), 1, 40, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/robot1/joint_states") && e.contains('z'), "{e}");
    drop(fake);

    let mut c = cfg();
    c.timeout_s = 0.3;
    let e = GazeboEnv::connect(&t, &c, 2, 40, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("/robot2/joint_states") && e.contains("no joint state"),
        "{e}"
    );
}

#[test]
fn bad_gazebo_configs_name_the_key() {
    let t = MemoryTransport::new("trainer", ParamMap::new());
    let mut c = cfg();
    c.command = "/cmd".into();
    let e = GazeboEnv::connect(&t, &c, 0, 10, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("env.gazebo.command") && e.contains("{joint}"),
        "{e}"
    );
    let mut c = cfg();
    c.home.pop();
    let e = GazeboEnv::connect(&t, &c, 0, 10, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("env.gazebo.home") && e.contains("2 values for 3 joints"),
        "{e}"
    );
    let mut c = cfg();
    c.goal_low[1] = 1.0;
    let e = GazeboEnv::connect(&t, &c, 0, 10, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("env.gazebo.goal_low") && e.contains("`y`"),
        "{e}"
    );
}

/// The error `connect` gives for `c` (validation runs before anything is subscribed).
fn connect_error(c: &GazeboConfig) -> String {
    let t = MemoryTransport::new("trainer", ParamMap::new());
    GazeboEnv::connect(&t, c, 0, 10, 0)
        .err()
        .expect("refused")
        .to_string()
}

#[test]
fn topics_that_are_not_ros_names_are_config_errors_naming_the_key() {
    // gz's own command topic as the ROS topic (what the shipped config once did): ROS 2
    // refuses a token starting with a digit.
    let mut c = cfg();
    c.command = "/model/gantry/joint/{joint}/0/cmd_pos".into();
    let e = connect_error(&c);
    for want in [
        "env.gazebo.command",
        "`/robot0/model/gantry/joint/x/0/cmd_pos` (joint `x`)",
        "token `0` starts with a digit",
        "gz_topic_name",
        "ros_topic_name",
    ] {
        assert!(e.contains(want), "{want}: {e}");
    }
    // A joint name that makes a bad token names the joint.
    let mut c = cfg();
    c.joints = vec!["x".into(), "2nd".into(), "z".into()];
    let e = connect_error(&c);
    assert!(
        e.contains("env.gazebo.command") && e.contains("joint `2nd`"),
        "{e}"
    );
    let mut c = cfg();
    c.joint_states = "/joint states".into();
    let e = connect_error(&c);
    assert!(
        e.contains("env.gazebo.joint_states") && e.contains("` `"),
        "{e}"
    );
    let mut c = cfg();
    c.joint_states = "/world/gantry/model/gantry/joint_state/".into();
    assert!(connect_error(&c).contains("env.gazebo.joint_states"));
    // `{i}` starting a token gives a digit-led token for every index.
    let mut c = cfg();
    c.namespace = "/{i}".into();
    let e = connect_error(&c);
    assert!(
        e.contains("env.gazebo.namespace") && e.contains("token `0`"),
        "{e}"
    );
    let mut c = cfg();
    c.namespace = "/robot{i}/arm-1".into();
    assert!(connect_error(&c).contains("env.gazebo.namespace"));
    let mut c = cfg();
    c.command = "/cmd/{node}/{joint}".into();
    assert!(connect_error(&c).contains("env.gazebo.command"));
}

#[test]
fn relative_topics_and_namespaces_join_as_ros_names() {
    let mut c = cfg();
    assert_eq!(c.topic(3, "/joint_states"), "/robot3/joint_states");
    assert_eq!(c.topic(3, "joint_states"), "/robot3/joint_states");
    assert_eq!(
        c.command_topic(2, "x"),
        "/robot2/model/gantry/joint/x/cmd_pos"
    );
    c.namespace = "sim{i}/".into();
    assert_eq!(c.topic(1, "joint_states"), "sim1/joint_states");
    c.namespace = String::new();
    assert_eq!(c.topic(1, "joint_states"), "joint_states");
    c.joint_states = "joint_states".into();
    c.validate().unwrap();
}

/// The shipped config passes the trainer's own checks (valid ROS names included), and the same
/// config with gz's command topic fails naming the file and the key.
#[test]
fn the_shipped_gazebo_config_uses_ros_names() {
    use ndp_ros::train::ppo::PpoRunConfig;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ppo_gazebo.yaml");
    let cfg = PpoRunConfig::load(&path).unwrap();
    let gz = cfg.env.gazebo.as_ref().unwrap();
    assert_eq!(
        gz.command_topic(0, "x"),
        "/model/gantry/joint/x/cmd_pos",
        "the ros_topic_name of bridges/gazebo/bridge.yaml"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replace(
        "command: /model/gantry/joint/{joint}/cmd_pos",
        "command: /model/gantry/joint/{joint}/0/cmd_pos",
    );
    assert_ne!(bad, text);
    let dir = tempfile::tempdir().unwrap();
    let bad_path = dir.path().join("ppo_gazebo_gz_names.yaml");
    std::fs::write(&bad_path, bad).unwrap();
    let e = PpoRunConfig::load(&bad_path).err().unwrap().to_string();
    assert!(
        e.contains("ppo_gazebo_gz_names.yaml")
            && e.contains("env.gazebo.command")
            && e.contains("starts with a digit")
            && !e.contains("BadChar"),
        "{e}"
    );
}
