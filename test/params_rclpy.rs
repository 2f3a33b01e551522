//! The embedded transport's parameter services against rclpy (Fast DDS from the ROS 2 Jazzy
//! wheels of scripts/setup_ros.sh): every node parameter listed and readable with its value,
//! run-time ones settable and applied, start-up ones refused with the reason, each described
//! with its description and range; the node's log lines on /rosout. Loopback only, domain 65.

use std::path::Path;
use std::process::{Command, Stdio};

use candle_core::Device;
mod common;
use common::peers::KillOnDrop;
use ndp_ros::train::{checkpoint, RunConfig};

#[test]
fn rclpy_lists_gets_and_sets_the_node_parameters() {
    assert!(
        Path::new(".venv-ros/bin/python").exists(),
        "the ROS 2 wheels are missing: run bash scripts/setup_ros.sh (scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = RunConfig::load(Path::new("config/state_ndp.yaml")).unwrap();
    let (_, varmap) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    checkpoint::save(dir.path(), &cfg, &varmap).unwrap();
    let domain = "65";
    let _node = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ndp_policy"))
            .args(["--ros-args", "-p"])
            .arg(format!("checkpoint:={}", dir.path().display()))
            .args(["-p", "joint_names:=[j1,j2,j3,j4,j5,j6,j7]"])
            .args(["-p", "velocity_max:=[1.0,1.0,1.0,1.0,1.0,1.0,1.0]"])
            .env("ROS_DOMAIN_ID", domain)
            .env("ROS_LOCALHOST_ONLY", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("ndp_policy starts"),
    );
    let out = Command::new("bash")
        .args([
            "-c",
            "source scripts/ros_env.sh && exec .venv-ros/bin/python test/e2e/params_rclpy.py --timeout 30",
        ])
        .env("ROS_DOMAIN_ID", domain)
        .env("ROS_LOCALHOST_ONLY", "1")
        .output()
        .expect("the rclpy peer runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rclpy peer failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let names: Vec<&str> = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for want in [
        "checkpoint",
        "rate_hz",
        "velocity_max",
        "enabled",
        "use_sim_time",
        "joint_names",
    ] {
        assert!(names.contains(&want), "{want} not listed: {names:?}");
    }
    assert_eq!(v["get"]["rate_hz"], 100.0);
    assert_eq!(v["get"]["velocity_max"][0], 1.0);
    assert_eq!(v["get"]["enabled"], true);
    // describe_parameters: the node's own description with its range (ros2-client's would
    // have none).
    let described = v["describe_description"].as_str().unwrap();
    assert!(
        described.contains("ticks per second") && described.contains("range: [1, 10000]"),
        "rate_hz described as {described:?}"
    );
    assert_eq!(v["describe_type"], 3, "PARAMETER_DOUBLE");
    // velocity_max and enabled accepted, rate_hz refused with the reason.
    assert_eq!(v["set"][0]["ok"], true, "{}", v["set"]);
    assert_eq!(v["set"][1]["ok"], false);
    assert!(v["set"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("start-up only"));
    assert_eq!(v["set"][2]["ok"], true);
    assert_eq!(v["after"]["velocity_max"][3], 0.5);
    assert_eq!(v["after"]["enabled"], false);
    assert_eq!(v["after"]["rate_hz"], 100.0);
    // The applied changes announced on /parameter_events (rclcpp does; r2r does not), the
    // refused one not.
    let events: Vec<String> = v["parameter_events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e.as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    assert!(
        events.contains(&"velocity_max".to_string()) && events.contains(&"enabled".to_string()),
        "{events:?}"
    );
    assert!(!events.contains(&"rate_hz".to_string()), "{events:?}");
    // The node's log line about the change, on /rosout (rcl_interfaces/msg/Log, INFO = 20).
    let logs = v["rosout"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["level"] == 20
            && l["msg"]
                .as_str()
                .unwrap()
                .contains("parameter velocity_max set to")),
        "{logs:?}"
    );
}

/// An unknown `--log-level` is a start-up error naming it, not a silently mute node.
#[test]
fn an_unknown_log_level_is_a_start_up_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ndp_policy"))
        .args([
            "--ros-args",
            "--log-level",
            "verbose",
            "-p",
            "checkpoint:=/nonexistent",
        ])
        .env("ROS_DOMAIN_ID", "66")
        .env("ROS_LOCALHOST_ONLY", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--log-level") && err.contains("verbose"),
        "{err}"
    );
}
