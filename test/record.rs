//! Recording live topics into an MCAP bag: through the in-memory transport (every message
//! published after the subscription is in the bag, equal), and `ndp record` on the embedded
//! DDS transport fed by another loopback-only participant.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use ndp_ros::bag::Bag;
use ndp_ros::msgs::{Float64MultiArray, JointState};
use ndp_ros::record::record;
use ndp_ros::ros::memory::MemoryTransport;
use ndp_ros::ros::{ParamMap, Qos, Transport};

fn joint_state(i: usize) -> JointState {
    JointState {
        name: vec!["a".into(), "b".into()],
        position: vec![i as f64, -(i as f64)],
        ..Default::default()
    }
}

#[test]
fn records_every_message_after_subscription() {
    let t = MemoryTransport::new("rec", ParamMap::new());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live");
    let pubt = t.clone();
    let feeder = std::thread::spawn(move || {
        while pubt.subscriber_count("/joint_states") == 0 || pubt.subscriber_count("/cmd") == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let js = pubt
            .publisher::<JointState>("/joint_states", Qos::DEFAULT)
            .unwrap();
        let cmd = pubt
            .publisher::<Float64MultiArray>("/cmd", Qos::DEFAULT)
            .unwrap();
        for i in 0..50 {
            js.publish(&joint_state(i)).unwrap();
            if i % 10 == 0 {
                cmd.publish(&Float64MultiArray {
                    data: vec![i as f64],
                    ..Default::default()
                })
                .unwrap();
            }
        }
    });
    let topics = [
        (
            "/joint_states".to_string(),
            "sensor_msgs/msg/JointState".to_string(),
        ),
        (
            "/cmd".to_string(),
            "std_msgs/msg/Float64MultiArray".to_string(),
        ),
    ];
    let s = record(
        &t,
        &topics,
        &out,
        Some(Duration::from_millis(800)),
        &AtomicBool::new(false),
        |_| {},
    )
    .unwrap();
    feeder.join().unwrap();
    assert_eq!(s.messages, 55);
    let msgs = Bag::open(&out).unwrap().messages().unwrap();
    let js: Vec<JointState> = msgs
        .iter()
        .filter(|m| m.topic == "/joint_states")
        .map(|m| m.decode().unwrap())
        .collect();
    assert_eq!(js, (0..50).map(joint_state).collect::<Vec<_>>());
    // An unknown type is refused, naming the topic; nothing is created.
    let bad = [("/x".to_string(), "std_msgs/msg/String".to_string())];
    let e = record(
        &t,
        &bad,
        &dir.path().join("no"),
        None,
        &AtomicBool::new(true),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/x") && e.contains("std_msgs/msg/String"), "{e}");
    assert!(!dir.path().join("no").exists());
}

#[cfg(feature = "dds")]
#[test]
fn ndp_record_on_loopback_dds() {
    use ndp_ros::ros::dds::{DdsOptions, DdsTransport};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dds_live");
    let opts = DdsOptions {
        domain_id: 76,
        loopback_only: true,
    };
    let robot = DdsTransport::new(&opts, "/", "robot", ParamMap::new()).unwrap();
    let js = robot
        .publisher::<JointState>("/joint_states", Qos::DEFAULT)
        .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ndp"))
        .args([
            "record",
            "--topic",
            "/joint_states:sensor_msgs/msg/JointState",
        ])
        .args(["--out", out.to_str().unwrap(), "--duration", "4", "--json"])
        .env("ROS_DOMAIN_ID", "76")
        .env("ROS_LOCALHOST_ONLY", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Publish for the whole recording window (volatile: what precedes discovery is lost).
    let t0 = std::time::Instant::now();
    let mut i = 0;
    while t0.elapsed() < Duration::from_secs(4) {
        js.publish(&joint_state(i)).unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let msgs = Bag::open(&out).unwrap().messages().unwrap();
    assert!(msgs.len() > 10, "only {} messages recorded", msgs.len());
    for m in &msgs {
        let j: JointState = m.decode().unwrap();
        assert_eq!(j.position[0], -j.position[1]);
    }
}
