//! --ros-args, parameter files and name resolution, as rcl does them.

use ndp_ros::node::{NodeParams, OutputMode};
use ndp_ros::ros::args::RosArgs;
use ndp_ros::ros::names::NameResolver;
use ndp_ros::ros::ParamValue;

fn args(v: &[&str]) -> RosArgs {
    RosArgs::parse(v.iter().map(|s| s.to_string())).unwrap()
}

#[test]
fn launch_style_arguments_are_parsed() {
    let a = args(&[
        "--verbose",
        "--ros-args",
        "--params-file",
        "/tmp/p.yaml",
        "-r",
        "__node:=policy",
        "-r",
        "__ns:=/robot",
        "-r",
        "/joint_states:=/arm/joint_states",
        "-p",
        "rate_hz:=250.0",
        "-p",
        "k:=5",
        "-p",
        "joint_names:=[a, b]",
        "--log-level",
        "debug",
        "--",
        "tail",
    ]);
    assert_eq!(a.program, ["--verbose", "tail"]);
    assert_eq!(a.node_name.as_deref(), Some("policy"));
    assert_eq!(a.namespace.as_deref(), Some("/robot"));
    assert_eq!(
        a.remaps,
        [("/joint_states".to_string(), "/arm/joint_states".to_string())]
    );
    assert_eq!(a.params_files.len(), 1);
    assert_eq!(a.params[0], ("rate_hz".into(), ParamValue::Double(250.0)));
    assert_eq!(a.params[1], ("k".into(), ParamValue::Integer(5)));
    assert_eq!(
        a.params[2],
        (
            "joint_names".into(),
            ParamValue::StringArray(vec!["a".into(), "b".into()])
        )
    );
    assert_eq!(a.log_level.as_deref(), Some("debug"));
}

#[test]
fn bad_ros_arguments_are_named() {
    let e = RosArgs::parse(["--ros-args", "-p", "rate_hz=3"].map(String::from)).unwrap_err();
    assert!(
        e.to_string().contains("rate_hz=3") && e.to_string().contains(":="),
        "{e}"
    );
    let e = RosArgs::parse(["--ros-args", "--bogus"].map(String::from)).unwrap_err();
    assert!(e.to_string().contains("--bogus"), "{e}");
    let e = RosArgs::parse(["--ros-args", "--params-file"].map(String::from)).unwrap_err();
    assert!(e.to_string().contains("--params-file"), "{e}");
}

#[test]
fn parameter_files_wildcards_node_sections_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.yaml");
    std::fs::write(
        &f,
        "/**:\n  ros__parameters:\n    rate_hz: 50.0\n    output: float64_array\n\
         /robot/policy:\n  ros__parameters:\n    rate_hz: 200.0\n    limits:\n      nested: 3\n\
         other_node:\n  ros__parameters:\n    rate_hz: 1.0\n",
    )
    .unwrap();
    let a = args(&[
        "--ros-args",
        "--params-file",
        f.to_str().unwrap(),
        "-p",
        "output:=pose",
    ]);
    let p = a.parameters("policy", "/robot").unwrap();
    assert_eq!(
        p["rate_hz"],
        ParamValue::Double(200.0),
        "the node's own section wins over /**"
    );
    assert_eq!(
        p["output"],
        ParamValue::String("pose".into()),
        "-p wins over files"
    );
    assert_eq!(
        p["limits.nested"],
        ParamValue::Integer(3),
        "nested maps are dotted names"
    );
    let p = a.parameters("other_node", "/").unwrap();
    assert_eq!(p["rate_hz"], ParamValue::Double(1.0));
}

#[test]
fn parameter_file_errors_name_the_file_and_section() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "ndp_policy:\n  rate_hz: 5\n").unwrap();
    let a = args(&["--ros-args", "--params-file", f.to_str().unwrap()]);
    let e = a.parameters("ndp_policy", "/").unwrap_err().to_string();
    assert!(
        e.contains("bad.yaml") && e.contains("ros__parameters"),
        "{e}"
    );
    let missing = args(&["--ros-args", "--params-file", "/nonexistent/p.yaml"]);
    let e = missing
        .parameters("ndp_policy", "/")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/p.yaml"), "{e}");
}

#[test]
fn names_resolve_and_remap_like_rcl() {
    let r = NameResolver::new(
        "policy",
        "robot",
        &[
            ("joint_states".into(), "/arm/joint_states".into()),
            ("~/dmp_plan".into(), "/plans".into()),
        ],
    );
    assert_eq!(r.fully_qualified_node(), "/robot/policy");
    assert_eq!(r.resolve("camera/image_raw"), "/robot/camera/image_raw");
    assert_eq!(r.resolve("/abs"), "/abs");
    assert_eq!(r.resolve("~/status"), "/robot/policy/status");
    assert_eq!(
        r.resolve("/robot/joint_states"),
        "/arm/joint_states",
        "rules match expanded names"
    );
    assert_eq!(r.resolve("~/dmp_plan"), "/plans");
    let root = NameResolver::new("n", "/", &[]);
    assert_eq!(root.resolve("x"), "/x");
    assert_eq!(root.resolve("~/x"), "/n/x");
}

fn map(pairs: &[(&str, ParamValue)]) -> ndp_ros::ros::ParamMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn node_parameters_are_validated_with_the_name() {
    let base = [
        ("checkpoint", ParamValue::String("runs/x".into())),
        (
            "joint_names",
            ParamValue::StringArray(vec!["a".into(), "b".into(), "c".into()]),
        ),
    ];
    let ok = NodeParams::from_map(&map(&base)).unwrap();
    assert_eq!(ok.output, OutputMode::JointTrajectory);
    // Relative by default, so that a launch `namespace:=` moves the topics with the node.
    assert_eq!(
        ok.command_topic,
        "joint_trajectory_controller/joint_trajectory"
    );
    assert_eq!(ok.rate_hz, 100.0);
    let cases: [(&str, ParamValue, &str); 8] = [
        ("rate_hz", ParamValue::Double(0.0), "parameter rate_hz"),
        (
            "rate_hz",
            ParamValue::String("fast".into()),
            "parameter rate_hz",
        ),
        (
            "output",
            ParamValue::String("torque".into()),
            "parameter output",
        ),
        (
            "velocity_max",
            ParamValue::DoubleArray(vec![1.0]),
            "parameter velocity_max",
        ),
        (
            "position_min",
            ParamValue::DoubleArray(vec![0.0; 3]),
            "parameter position_max",
        ),
        (
            "input_timeout_s",
            ParamValue::Double(-1.0),
            "parameter input_timeout_s",
        ),
        (
            "observation",
            ParamValue::String("stereo".into()),
            "`stereo`: expected image, state, both or vector",
        ),
        ("frobnicate", ParamValue::Bool(true), "parameter frobnicate"),
    ];
    for (k, v, want) in cases {
        let mut m = map(&base);
        m.insert(k.into(), v.clone());
        let e = NodeParams::from_map(&m).unwrap_err().to_string();
        assert!(e.contains(want), "{k} = {v}: {e}");
    }
    let e = NodeParams::from_map(&map(&base[1..]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("parameter checkpoint"), "{e}");
}

/// What `ros2 launch ndp_ros ndp_policy.launch.py namespace:=robot model:=...` passes: the
/// shipped params file, then launch's own override file, node and namespace remaps.
#[test]
fn the_shipped_params_file_with_launch_overrides_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let over = dir.path().join("launch_params.yaml");
    std::fs::write(
        &over,
        "/**:\n  ros__parameters:\n    use_sim_time: true\n    checkpoint: /models/pick\n    output: float64_array\n",
    )
    .unwrap();
    let a = args(&[
        "--ros-args",
        "-r",
        "__node:=ndp_policy",
        "-r",
        "__ns:=/robot",
        "--params-file",
        "config/ndp_policy.yaml",
        "--params-file",
        over.to_str().unwrap(),
        "-r",
        "/joint_states:=/robot/joint_states",
        "--log-level",
        "info",
    ]);
    let p = NodeParams::from_map(&a.parameters("ndp_policy", "/robot").unwrap()).unwrap();
    assert_eq!(p.checkpoint.to_str(), Some("/models/pick"));
    assert_eq!(p.output, OutputMode::Float64Array);
    assert!(p.use_sim_time);
    assert_eq!(p.joint_names.len(), 7);
    assert_eq!(p.position_min.len(), 7);
    assert!(p.publish_plan);
    let names = NameResolver::new("ndp_policy", "/robot", &a.remaps);
    assert_eq!(names.resolve(&p.joint_state_topic), "/robot/joint_states");
}

/// The simulated arm's parameter files (scripts/demo.sh) are valid node parameters.
#[test]
fn the_arm_params_files_are_valid() {
    for (file, topic) in [
        ("config/ndp_policy_arm.yaml", "camera/image_raw"),
        ("config/ndp_policy_arm_ppo.yaml", "task/observation"),
    ] {
        let a = args(&["--ros-args", "--params-file", file]);
        let p = NodeParams::from_map(&a.parameters("ndp_policy", "/").unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p.joint_names, ["joint_1", "joint_2", "joint_3"], "{file}");
        assert!(p.use_sim_time, "{file}");
        let input = if file.ends_with("ppo.yaml") {
            &p.observation_topic
        } else {
            &p.image_topic
        };
        assert_eq!(input, topic, "{file}");
    }
}
