//! End to end over the embedded DDS transport against an independent ROS 2 peer: Eclipse
//! Cyclone DDS (PyPI `cyclonedds`, test/e2e/ros2_peer.py). Both sides are loopback-only
//! (RustDDS via ROS_LOCALHOST_ONLY, Cyclone via ../shared/testing/cyclone_lo.xml) and each test
//! has its own ROS_DOMAIN_ID. The numbers are checked against the node's logic run offline on
//! the same checkpoint and the same inputs.
//!
//! Needs the Python environment that scripts/setup.sh makes (.venv with cyclonedds); set
//! NDP_PYTHON to use another interpreter.

mod common;
use common::peers::KillOnDrop;

use common::oracle::{controller, nums, pattern_image, pose_horizon, write_image_run, write_run};
use ndp_ros::msgs::{Header, JointState, Time};
use ndp_ros::ros::ParamMap;

fn start_node(domain: u16, params: &[(&str, String)]) -> KillOnDrop {
    common::peers::start_node(env!("CARGO_BIN_EXE_ndp_policy"), domain, params, &[])
}

/// Runs the peer; returns the JSON lines it printed.
fn peer(domain: u16, args: &[&str]) -> Vec<serde_json::Value> {
    common::peers::run_peer("ros2_peer.py", domain, args)
}

const JOINTS: &str = "j1,j2,j3,j4,j5,j6,j7";
const POS: [f64; 7] = [0.1, 0.2, 0.3, -1.0, 0.5, 1.0, 0.2];

/// Joint states in, JointTrajectory out: every trajectory the peer receives is the DMP rollout
/// of the policy's output for that state (no limits, so every plan from it is the same).
#[test]
fn joint_states_in_joint_trajectory_out() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), |_| {});
    let params = vec![
        ("checkpoint", dir.path().display().to_string()),
        ("joint_names", format!("[{JOINTS}]")),
        ("rate_hz", "100.0".to_string()),
    ];
    let domain = 71;
    let _node = start_node(domain, &params);
    let got = peer(
        domain,
        &[
            "--scenario",
            "joint_trajectory",
            "--joints",
            JOINTS,
            "--positions",
            "0.1,0.2,0.3,-1.0,0.5,1.0,0.2",
            "--want",
            "3",
        ],
    );

    let mut ctl = controller(dir.path(), &params);
    let names: Vec<String> = JOINTS.split(',').rev().map(String::from).collect();
    let pos: Vec<f64> = POS.iter().rev().copied().collect();
    let js = JointState {
        header: Header::default(),
        name: names,
        position: pos,
        velocity: vec![],
        effort: vec![],
    };
    ctl.on_joint_state(&js, Time::from_nanos(0));
    assert!(ctl.tick(Time::from_nanos(1_000_000)).new_plan);
    let plan = ctl.current_plan().clone();
    let n = ctl.horizon().len();
    let msgs: Vec<_> = got
        .iter()
        .filter(|m| m["type"] == "JointTrajectory")
        .collect();
    assert!(msgs.len() >= 3, "{} trajectories", msgs.len());
    // The oracle: the plan sampled at each point's time, fast-forwarded by the whole ticks the
    // node's planner took (0 in the one-thread oracle; a tick or two on the node's threads).
    let sample = |tau_ms: usize| {
        let (mut p, mut v) = (vec![0.0; 7], vec![0.0; 7]);
        plan.sample(tau_ms as i64 * 10_000_000, &mut p, &mut v);
        (p, v)
    };
    for m in msgs {
        let pts = m["points"].as_array().unwrap();
        assert_eq!(pts.len(), n, "twice the replan period, a point a tick");
        for (i, p) in pts.iter().enumerate() {
            let t = p["t"].as_f64().unwrap();
            assert!(
                (t - (i + 1) as f64 / 100.0).abs() < 1e-9,
                "time_from_start {t}"
            );
        }
        let num = |p: &serde_json::Value, k: &str| nums(&p[k]);
        let fits = |skip: usize| {
            pts.iter().enumerate().all(|(i, p)| {
                let (wp, wv) = sample(i + 1 + skip);
                let close =
                    |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9);
                close(&num(p, "positions"), &wp) && close(&num(p, "velocities"), &wv)
            })
        };
        let skip = (0..=3).find(|&s| fits(s));
        assert!(
            skip.is_some(),
            "trajectory {:?} is not the plan {:?} fast-forwarded by 0-3 ticks",
            pts.iter()
                .map(|p| num(p, "positions")[0])
                .collect::<Vec<_>>(),
            (1..=n + 3).map(|i| sample(i).0[0]).collect::<Vec<_>>()
        );
    }
}

/// Image and end-effector pose in, PoseStamped out (the MoveIt Servo path): every pose the
/// peer receives is a point of the DMP rollout of the CNN policy's output for that image.
#[test]
fn image_and_pose_in_pose_stamped_out() {
    let dir = tempfile::tempdir().unwrap();
    write_image_run(dir.path());
    let params = vec![
        ("checkpoint", dir.path().display().to_string()),
        ("joint_names", "[x, y, z]".to_string()),
        ("observation", "image".to_string()),
        ("output", "pose".to_string()),
        ("frame_id", "base_link".to_string()),
        ("rate_hz", "50.0".to_string()),
    ];
    let domain = 72;
    let _node = start_node(domain, &params);
    let got = peer(
        domain,
        &[
            "--scenario",
            "pose",
            "--positions",
            "0.4,-0.1,0.6",
            "--image",
            "--want",
            "12",
        ],
    );

    let horizon = pose_horizon(
        dir.path(),
        &params,
        [0.4, -0.1, 0.6],
        &pattern_image(64, 48),
    );
    let poses: Vec<_> = got.iter().filter(|m| m["type"] == "PoseStamped").collect();
    assert!(poses.len() >= 12, "{} poses", poses.len());
    for m in poses {
        assert_eq!(m["frame_id"], "base_link");
        assert_eq!(nums(&m["orientation"]), [0.0, 0.0, 0.0, 1.0]);
        let p = nums(&m["position"]);
        let hit = horizon.iter().any(|sp| {
            sp.positions
                .iter()
                .zip(&p)
                .all(|(a, b)| (a - b).abs() < 1e-9)
        });
        if !hit {
            let all: Vec<_> = got
                .iter()
                .filter(|m| m["type"] == "PoseStamped")
                .map(|m| m["position"][0].as_f64().unwrap())
                .collect();
            let hx: Vec<_> = horizon.iter().map(|s| s.positions[0]).collect();
            panic!("pose {p:?} is not a point of the rollout {hx:?}; all x: {all:?}");
        }
    }
}

/// use_sim_time on the embedded transport: `now()` is 0 until the first /clock, then the
/// latest published clock (two loopback-only RustDDS participants, domain 73).
#[test]
fn sim_time_follows_the_clock_topic() {
    use ndp_ros::msgs::Clock;
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    use ndp_ros::ros::{Qos, Transport};
    let opts = DdsOptions {
        domain_id: 73,
        loopback_only: true,
    };
    let node = DdsTransport::new(&opts, "/", "sim_node", ParamMap::new()).unwrap();
    let sim = DdsTransport::new(&opts, "/", "simulator", ParamMap::new()).unwrap();
    assert!(
        node.now().sec > 1_000_000_000,
        "wall clock before use_sim_time"
    );
    node.use_sim_time().unwrap();
    assert_eq!(node.now(), Time::default(), "time 0 until the first /clock");
    let clock = sim.publisher::<Clock>("/clock", Qos::DEFAULT).unwrap();
    let started = std::time::Instant::now();
    let mut sent = Vec::new();
    // Volatile: samples before discovery are lost, so keep publishing until one arrives.
    for i in 1..=500i64 {
        let t = Time::from_nanos(i * 10_000_000 + 7);
        clock.publish(&Clock { clock: t }).unwrap();
        sent.push(t);
        std::thread::sleep(std::time::Duration::from_millis(20));
        if node.now() != Time::default() {
            break;
        }
    }
    assert!(
        node.now() != Time::default(),
        "no /clock in {:?}",
        started.elapsed()
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(node.now(), *sent.last().unwrap(), "the latest clock");
}
