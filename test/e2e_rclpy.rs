//! End to end against rclpy (ROS 2 Jazzy, Fast DDS: test/e2e/rclpy_e2e_peer.py), on both of the
//! node's transports: the r2r build that colcon installed (rcl, Fast DDS) and the embedded one
//! (RustDDS talking to Fast DDS); and the r2r node against the embedded transport used as a
//! library, both directions of one conversation. Every received number is checked against the
//! node's logic run offline on the same checkpoint and inputs (test/common/oracle.rs).
//!
//! Ignored by a plain `cargo test`: they need the ROS 2 of .venv-ros and the colcon workspace
//! (ndp_ros_msgs' typesupports and Python bindings, the r2r `ndp_policy`). scripts/test_r2r.sh
//! sources both, sets NDP_R2R_NODE and runs them with `--ignored`, loopback only (in a network
//! namespace as root), each test on its own ROS_DOMAIN_ID (84-91).

mod common;
use common::oracle::{
    close, controller, nums, pattern_image, pose_horizon, write_image_run, write_run,
};
use common::peers::KillOnDrop;
use std::process::Command;

use ndp_ros::msgs::{DmpPlan, Header, JointState, Time};
use ndp_ros::node::planner::PolicyPlanner;
use ndp_ros::node::Controller;

#[derive(Clone, Copy, Debug)]
enum Transport {
    R2r,
    Embedded,
}

fn start_node(t: Transport, domain: u16, params: &[(&str, String)]) -> KillOnDrop {
    match t {
        Transport::Embedded => {
            common::peers::start_node(env!("CARGO_BIN_EXE_ndp_policy"), domain, params, &[])
        }
        Transport::R2r => {
            let bin = std::env::var("NDP_R2R_NODE")
                .expect("NDP_R2R_NODE: the r2r ndp_policy (scripts/test_r2r.sh sets it)");
            // rcl loads *__rosidl_generator_py.so, which need libpython's symbols (ros_env.sh).
            let lib = std::env::var("NDP_ROS_LIBPYTHON").expect("NDP_ROS_LIBPYTHON (ros_env.sh)");
            common::peers::start_node(&bin, domain, params, &[("LD_PRELOAD", lib)])
        }
    }
}

/// Runs the rclpy peer to the end; returns the JSON lines it printed.
fn rclpy_peer(domain: u16, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(".venv-ros/bin/python")
        .arg("test/e2e/rclpy_e2e_peer.py")
        .args(["--domain", &domain.to_string(), "--timeout", "40"])
        .args(args)
        .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        .output()
        .expect("the rclpy peer runs (.venv-ros: scripts/setup_ros.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rclpy peer failed: {}\n{}",
        text.lines().last().unwrap_or(""),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_type<'a>(got: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    got.iter().filter(|m| m["type"] == ty).collect()
}

const JOINTS: &str = "j1,j2,j3,j4,j5,j6,j7";
const POS: [f64; 7] = [0.1, 0.2, 0.3, -1.0, 0.5, 1.0, 0.2];

fn state_params(run: &std::path::Path, output: &str) -> Vec<(&'static str, String)> {
    vec![
        ("checkpoint", run.display().to_string()),
        ("joint_names", format!("[{JOINTS}]")),
        ("rate_hz", "100.0".to_string()),
        ("output", output.to_string()),
        ("publish_plan", "true".to_string()),
    ]
}

/// The oracle's first plan from the peer's joint state (sent in reversed joint order).
fn state_oracle(run: &std::path::Path, params: &[(&str, String)]) -> Controller<PolicyPlanner> {
    let mut ctl = controller(run, params);
    let js = JointState {
        header: Header::default(),
        name: JOINTS.split(',').rev().map(String::from).collect(),
        position: POS.iter().rev().copied().collect(),
        velocity: vec![],
        effort: vec![],
    };
    ctl.on_joint_state(&js, Time::from_nanos(0));
    assert!(ctl.tick(Time::from_nanos(1_000_000)).new_plan);
    ctl
}

/// The plan sampled at tick `i` (10 ms ticks) from its start: positions, velocities.
fn sample(ctl: &Controller<PolicyPlanner>, i: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut v) = (vec![0.0; 7], vec![0.0; 7]);
    ctl.current_plan()
        .sample(i as i64 * 10_000_000, &mut p, &mut v);
    (p, v)
}

/// Every DmpPlan the peer took is the oracle's plan: same policy output, same DMP constants.
fn check_plans(got: &[serde_json::Value], want: &DmpPlan) {
    let plans = of_type(got, "DmpPlan");
    assert!(!plans.is_empty(), "no DmpPlan");
    for m in plans {
        let names: Vec<String> = serde_json::from_value(m["joint_names"].clone()).unwrap();
        assert_eq!(names, want.joint_names);
        assert_eq!(m["n_basis"].as_u64().unwrap(), want.n_basis as u64);
        assert_eq!(m["k"].as_u64().unwrap(), want.k as u64);
        for (k, v) in [("a_z", want.a_z), ("a_x", want.a_x), ("dt", want.dt)] {
            assert_eq!(m[k].as_f64().unwrap(), v, "{k}");
        }
        for (k, v) in [
            ("y0", &want.y0),
            ("dy0", &want.dy0),
            ("g", &want.g),
            ("w", &want.w),
        ] {
            assert!(close(&nums(&m[k]), v, 1e-9), "{k}: {} vs {v:?}", m[k]);
        }
        assert!(m["stamp"].as_f64().unwrap() > 1e9, "stamped in wall time");
    }
}

/// A fresh state run served by `t` with `output`, the rclpy peer publishing joint states until
/// `want` commands and a plan are in: (the run's directory, the node's parameters, what the
/// peer printed).
fn state_round(
    t: Transport,
    domain: u16,
    output: &str,
    want: usize,
) -> (
    tempfile::TempDir,
    Vec<(&'static str, String)>,
    Vec<serde_json::Value>,
) {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), |_| {});
    let params = state_params(dir.path(), output);
    let _node = start_node(t, domain, &params);
    let positions = POS.map(|v| v.to_string()).join(",");
    let want = want.to_string();
    let got = rclpy_peer(
        domain,
        &[
            "--output",
            output,
            "--joints",
            JOINTS,
            "--positions",
            &positions,
            "--want",
            &want,
            "--plan",
        ],
    );
    (dir, params, got)
}

/// JointState in (reordered), JointTrajectory and DmpPlan out: every trajectory is the plan
/// fast-forwarded by the node's planning latency (0-3 ticks), a point per tick, twice the replan
/// period long.
fn joint_trajectory(t: Transport, domain: u16) {
    let (dir, params, got) = state_round(t, domain, "joint_trajectory", 3);
    let ctl = state_oracle(dir.path(), &params);
    let n = ctl.horizon().len();
    let msgs = of_type(&got, "JointTrajectory");
    assert!(msgs.len() >= 3, "{t:?}: {} trajectories", msgs.len());
    for m in msgs {
        let pts = m["points"].as_array().unwrap();
        assert_eq!(pts.len(), n, "twice the replan period, a point a tick");
        for (i, p) in pts.iter().enumerate() {
            let tf = p["t"].as_f64().unwrap();
            assert!(
                (tf - (i + 1) as f64 / 100.0).abs() < 1e-9,
                "time_from_start {tf}"
            );
        }
        let fits = |skip: usize| {
            pts.iter().enumerate().all(|(i, p)| {
                let (wp, wv) = sample(&ctl, i + 1 + skip);
                close(&nums(&p["positions"]), &wp, 1e-9)
                    && close(&nums(&p["velocities"]), &wv, 1e-9)
            })
        };
        assert!(
            (0..=3).any(fits),
            "{t:?}: trajectory is not the plan fast-forwarded by 0-3 ticks: first point {:?}, plan {:?}",
            nums(&pts[0]["positions"]),
            sample(&ctl, 1).0
        );
    }
    check_plans(&got, &ctl.plan());
}

/// JointState in, Float64MultiArray out (forward_position_controller): every command is the
/// plan at some tick of its life.
fn float64_array(t: Transport, domain: u16) {
    let (dir, params, got) = state_round(t, domain, "float64_array", 40);
    let ctl = state_oracle(dir.path(), &params);
    let life = 3 * ctl.horizon().len();
    let arrays = of_type(&got, "Float64MultiArray");
    assert!(arrays.len() >= 40, "{t:?}: {} arrays", arrays.len());
    let mut ticks = Vec::new();
    for m in arrays {
        let data = nums(&m["data"]);
        let tick = (1..=life).find(|&i| close(&data, &sample(&ctl, i).0, 1e-9));
        assert!(
            tick.is_some(),
            "{t:?}: command {data:?} is not a point of the plan"
        );
        ticks.push(tick.unwrap());
    }
    // A tick's command after another: the plan advances (a new plan starts it again).
    assert!(
        ticks.windows(2).any(|w| w[1] == w[0] + 1),
        "{t:?}: ticks {ticks:?}"
    );
    check_plans(&got, &ctl.plan());
}

/// Image (rgb8 640x480, reliable or best effort) and end-effector pose in, PoseStamped out (the
/// MoveIt Servo path): every pose is a point of the CNN policy's rollout for that image.
fn image_pose(t: Transport, domain: u16, reliable: bool) {
    let dir = tempfile::tempdir().unwrap();
    write_image_run(dir.path());
    let params = vec![
        ("checkpoint", dir.path().display().to_string()),
        ("joint_names", "[ee_x, ee_y, ee_z]".to_string()),
        ("observation", "image".to_string()),
        ("output", "pose".to_string()),
        ("frame_id", "base_link".to_string()),
        ("rate_hz", "50.0".to_string()),
        ("image_width", "640".to_string()),
        ("image_height", "480".to_string()),
    ];
    let _node = start_node(t, domain, &params);
    let mut args = vec![
        "--output",
        "pose",
        "--positions",
        "0.4,-0.1,0.6",
        "--image",
        "640x480",
        "--want",
        "12",
    ];
    if reliable {
        args.push("--image-reliable");
    }
    let got = rclpy_peer(domain, &args);

    let horizon = pose_horizon(
        dir.path(),
        &params,
        [0.4, -0.1, 0.6],
        &pattern_image(640, 480),
    );
    let poses = of_type(&got, "PoseStamped");
    assert!(poses.len() >= 12, "{t:?}: {} poses", poses.len());
    for m in poses {
        assert_eq!(m["frame_id"], "base_link");
        assert_eq!(nums(&m["orientation"]), [0.0, 0.0, 0.0, 1.0]);
        let p = nums(&m["position"]);
        assert!(
            horizon.iter().any(|sp| close(&sp.positions, &p, 1e-9)),
            "{t:?}: pose {p:?} is not a point of the rollout {:?}",
            horizon.iter().map(|s| s.positions[0]).collect::<Vec<_>>()
        );
    }
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn r2r_joint_trajectory_and_plan() {
    joint_trajectory(Transport::R2r, 84);
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn embedded_joint_trajectory_and_plan() {
    joint_trajectory(Transport::Embedded, 85);
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn r2r_float64_array_and_plan() {
    float64_array(Transport::R2r, 86);
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn embedded_float64_array_and_plan() {
    float64_array(Transport::Embedded, 87);
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn r2r_image_640x480_best_effort_and_reliable_to_pose() {
    image_pose(Transport::R2r, 88, false);
    image_pose(Transport::R2r, 88, true);
}

#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn embedded_image_640x480_best_effort_and_reliable_to_pose() {
    image_pose(Transport::Embedded, 89, false);
    image_pose(Transport::Embedded, 89, true);
}

/// The r2r node (rcl, Fast DDS) and the embedded transport (RustDDS) as its only peer: the
/// embedded side publishes the joint states and takes the r2r node's trajectories and plans,
/// both checked against the oracle.
#[test]
#[ignore = "needs ROS 2 Jazzy and the colcon workspace: scripts/test_r2r.sh"]
fn r2r_node_and_embedded_transport_talk() {
    use ndp_ros::msgs::JointTrajectory;
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    use ndp_ros::ros::{ParamMap, Qos, Transport as _};
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), |_| {});
    let params = state_params(dir.path(), "joint_trajectory");
    let domain = 90;
    let _node = start_node(Transport::R2r, domain, &params);
    let opts = DdsOptions {
        domain_id: domain,
        loopback_only: true,
    };
    let peer = DdsTransport::new(&opts, "/", "embedded_peer", ParamMap::new()).unwrap();
    let trajs = Arc::new(Mutex::new(Vec::<JointTrajectory>::new()));
    let plans = Arc::new(Mutex::new(Vec::<DmpPlan>::new()));
    // Each stream drained on a thread of its own into the lists above.
    fn collect<M: ndp_ros::msgs::RosMessage>(
        s: futures::stream::BoxStream<'static, M>,
        into: Arc<Mutex<Vec<M>>>,
    ) {
        use futures::StreamExt;
        std::thread::spawn(move || {
            futures::executor::block_on(s.for_each(|m| {
                into.lock().unwrap().push(m);
                futures::future::ready(())
            }))
        });
    }
    let topic = "/joint_trajectory_controller/joint_trajectory";
    collect(
        peer.subscribe::<JointTrajectory>(topic, Qos::DEFAULT)
            .unwrap(),
        trajs.clone(),
    );
    collect(
        peer.subscribe::<DmpPlan>("/ndp_policy/dmp_plan", Qos::DEFAULT)
            .unwrap(),
        plans.clone(),
    );
    let js_pub = peer
        .publisher::<JointState>("/joint_states", Qos::DEFAULT)
        .unwrap();
    let js = JointState {
        header: Header::default(),
        name: JOINTS.split(',').rev().map(String::from).collect(),
        position: POS.iter().rev().copied().collect(),
        velocity: vec![],
        effort: vec![],
    };
    let start = std::time::Instant::now();
    // Publishing at 50 Hz until three trajectories and a plan are in (discovery first).
    while (trajs.lock().unwrap().len() < 3 || plans.lock().unwrap().is_empty())
        && start.elapsed().as_secs() < 40
    {
        let mut m = js.clone();
        m.header.stamp = peer.now();
        js_pub.publish(&m).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ctl = state_oracle(dir.path(), &params);
    let trajs = trajs.lock().unwrap().clone();
    assert!(trajs.len() >= 3, "{} trajectories in 40 s", trajs.len());
    for m in &trajs {
        let names: Vec<&str> = JOINTS.split(',').collect();
        assert_eq!(m.joint_names, names);
        let fits = |skip: usize| {
            m.points.iter().enumerate().all(|(i, p)| {
                let (wp, wv) = sample(&ctl, i + 1 + skip);
                close(&p.positions, &wp, 1e-9) && close(&p.velocities, &wv, 1e-9)
            })
        };
        assert!((0..=3).any(fits), "trajectory is not the oracle's plan");
    }
    let want = ctl.plan();
    for p in plans.lock().unwrap().iter() {
        assert_eq!(p.joint_names, want.joint_names);
        assert_eq!((p.n_basis, p.k), (want.n_basis, want.k));
        assert_eq!((p.a_z, p.a_x, p.dt), (want.a_z, want.a_x, want.dt));
        assert!(close(&p.g, &want.g, 1e-9) && close(&p.w, &want.w, 1e-9));
        assert!(close(&p.y0, &want.y0, 1e-9) && close(&p.dy0, &want.dy0, 1e-9));
    }
}
