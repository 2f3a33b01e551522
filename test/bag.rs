//! rosbag2 bags written by the independent PyPI `rosbags` (test/bags/write_bags.py): a Humble
//! sqlite3 bag and a Jazzy MCAP bag are read with every message equal to what was written, and
//! bad bags give errors naming the file. Needs .venv (scripts/setup.sh) or NDP_PYTHON.

use std::path::{Path, PathBuf};
use std::process::Command;

use ndp_ros::bag::{Bag, Storage};
use ndp_ros::msgs::{JointState, Time};

fn python() -> PathBuf {
    std::env::var_os("NDP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv/bin/python"))
}

fn write_bags(dir: &Path) {
    let ok = Command::new(python())
        .arg("test/bags/write_bags.py")
        .arg(dir)
        .status()
        .expect("python with rosbags: run scripts/setup.sh")
        .success();
    assert!(ok, "test/bags/write_bags.py failed");
}

fn check_joint_states(bag: &Bag) {
    let msgs = bag.messages().unwrap();
    let js: Vec<JointState> = msgs
        .iter()
        .filter(|m| m.topic == "/joint_states")
        .map(|m| m.decode().unwrap())
        .collect();
    assert_eq!(js.len(), 50);
    for (i, m) in js.iter().enumerate() {
        let f = i as f64;
        assert_eq!(
            m.header.stamp,
            Time {
                sec: 1000 + i as i32,
                nanosec: 7
            }
        );
        assert_eq!(m.header.frame_id, "base");
        assert_eq!(m.name, ["j1", "j2", "j3"]);
        assert_eq!(m.position, [0.1 * f, -0.2 * f, 0.5]);
        assert_eq!(m.velocity, [f, 0.0, -f]);
        assert!(m.effort.is_empty());
    }
    let times: Vec<u64> = msgs.iter().map(|m| m.log_time_ns).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "log-time order");
    // A marker is not a JointState: the error names file, topic and message.
    let marker = msgs.iter().find(|m| m.topic == "/marker").unwrap();
    let e = marker.decode::<JointState>().unwrap_err().to_string();
    assert!(
        e.contains("topic /marker") && e.contains("std_msgs/msg/String"),
        "{e}"
    );
}

#[test]
fn bags_written_by_rosbags_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    write_bags(dir.path());
    for (name, storage, file) in [
        ("humble_sqlite", Storage::Sqlite3, "humble_sqlite.db3"),
        ("jazzy_mcap", Storage::Mcap, "jazzy_mcap.mcap"),
    ] {
        let bag = Bag::open(&dir.path().join(name)).unwrap();
        assert_eq!(bag.storage, storage);
        check_joint_states(&bag);
        // The bare storage file reads the same.
        check_joint_states(&Bag::open(&dir.path().join(name).join(file)).unwrap());
        let out = Command::new(env!("CARGO_BIN_EXE_ndp"))
            .args(["bag", "info", "--json"])
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(
            v["storage"],
            if storage == Storage::Mcap {
                "mcap"
            } else {
                "sqlite3"
            }
        );
        assert!((v["duration_s"].as_f64().unwrap() - 49.0).abs() < 1e-9);
        let topics = v["topics"].as_array().unwrap();
        let find = |n: &str| topics.iter().find(|t| t["name"] == n).unwrap().clone();
        assert_eq!(find("/joint_states")["count"], 50);
        assert_eq!(find("/joint_states")["type"], "sensor_msgs/msg/JointState");
        assert_eq!(find("/marker")["count"], 5);
    }
}

#[test]
fn bad_bags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_bags(dir.path());
    // No metadata.yaml.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = Bag::open(&empty).unwrap_err().to_string();
    assert!(e.contains("metadata.yaml"), "{e}");
    // A truncated MCAP names the file; nothing before the cut is claimed good silently.
    let mcap = dir.path().join("jazzy_mcap/jazzy_mcap.mcap");
    let bytes = std::fs::read(&mcap).unwrap();
    let cut = dir.path().join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = Bag::open(&cut).unwrap().messages().unwrap_err().to_string();
    assert!(e.contains("cut.mcap") && e.contains("corrupt MCAP"), "{e}");
    // A bad CDR header names file, topic, message and offset.
    let bag = Bag::open(&dir.path().join("humble_sqlite")).unwrap();
    let mut m = bag.messages().unwrap().remove(0);
    m.data[1] = 7;
    let e = m.decode::<JointState>().unwrap_err().to_string();
    assert!(
        e.contains("humble_sqlite.db3")
            && e.contains("topic /joint_states")
            && e.contains("offset 0"),
        "{e}"
    );
    // CDR lengths that overrun the buffer.
    let mut m = bag.messages().unwrap().remove(0);
    m.data.truncate(30);
    let e = m.decode::<JointState>().unwrap_err().to_string();
    assert!(e.contains("does not decode"), "{e}");
    // Not a bag at all.
    let e = Bag::open(&dir.path().join("humble_sqlite/metadata.yaml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a bag"), "{e}");
}
