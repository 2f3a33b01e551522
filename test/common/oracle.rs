//! The node's logic run offline, one thread, on the same checkpoint and inputs as a node under
//! test: what the end-to-end tests compare a peer's received messages against.

use std::path::Path;

use candle_core::Device;
use ndp_ros::msgs::{Header, Image, Point, Pose, PoseStamped, Quaternion, Time};
use ndp_ros::node::executor::Setpoint;
use ndp_ros::node::planner::PolicyPlanner;
use ndp_ros::node::{Controller, NodeParams};
use ndp_ros::ros::{ParamMap, ParamValue};
use ndp_ros::train::{checkpoint, RunConfig};

/// A fresh (untrained, seeded) run of config/state_ndp.yaml, edited, saved in `dir`.
pub fn write_run(dir: &Path, edit: impl Fn(&mut RunConfig)) -> RunConfig {
    let mut cfg = RunConfig::load(Path::new("config/state_ndp.yaml")).unwrap();
    edit(&mut cfg);
    let (_, varmap) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    checkpoint::save(dir, &cfg, &varmap).unwrap();
    cfg
}

/// A fresh run of the digit CNN with 3 DoF (an end-effector position policy on images).
pub fn write_image_run(dir: &Path) -> RunConfig {
    write_run(dir, |c| {
        c.model.encoder = ndp_ros::policy::EncoderKind::DigitCnn;
        c.model.input_size = 28;
        c.model.dof = 3;
    })
}

/// The horizon the node plans from end-effector position `xyz` and `image`: the points a pose
/// output may publish.
pub fn pose_horizon(
    run: &Path,
    params: &[(&str, String)],
    xyz: [f64; 3],
    image: &Image,
) -> Vec<Setpoint> {
    let mut ctl = controller(run, params);
    let pose = PoseStamped {
        header: Header::default(),
        pose: Pose {
            position: Point {
                x: xyz[0],
                y: xyz[1],
                z: xyz[2],
            },
            orientation: Quaternion::default(),
        },
    };
    ctl.on_pose(&pose, Time::from_nanos(0));
    ctl.on_image(image, Time::from_nanos(0));
    assert!(ctl.tick(Time::from_nanos(1_000_000)).new_plan);
    ctl.horizon().to_vec()
}

/// The node's controller for `run` with the node's parameters (as `-p name:=value` strings).
pub fn controller(run: &Path, params: &[(&str, String)]) -> Controller<PolicyPlanner> {
    let mut m = ParamMap::new();
    for (k, v) in params {
        m.insert(k.to_string(), ParamValue::parse(v));
    }
    let p = NodeParams::from_map(&m).unwrap();
    let (cfg, policy, _) = checkpoint::load(run, &Device::Cpu).unwrap();
    let planner = PolicyPlanner::new(policy, &p).unwrap();
    Controller::new(p, planner, &cfg.dmp, cfg.model.input_size).unwrap()
}

/// The peers' test image: byte (x * 4 + y * 2 + c * 50) % 256 at column x, row y, channel c.
pub fn pattern_image(w: u32, h: u32) -> Image {
    let data: Vec<u8> = (0..h)
        .flat_map(|y| {
            (0..w).flat_map(move |x| (0..3).map(move |c| ((x * 4 + y * 2 + c * 50) % 256) as u8))
        })
        .collect();
    Image {
        header: Header::default(),
        height: h,
        width: w,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: w * 3,
        data,
    }
}

/// A JSON array of numbers as f64s.
pub fn nums(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Element-wise within `tol`, same length.
pub fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}
