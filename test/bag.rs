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

/// Every message on `topic`, decoded as `M`.
fn decoded<M: ndp_ros::msgs::RosMessage>(msgs: &[ndp_ros::bag::BagMessage], topic: &str) -> Vec<M> {
    msgs.iter()
        .filter(|m| m.topic == topic)
        .map(|m| m.decode().unwrap())
        .collect()
}

fn check_joint_states(bag: &Bag) {
    let msgs = bag.messages().unwrap();
    let js: Vec<JointState> = decoded(&msgs, "/joint_states");
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
    assert!(
        e.contains("cut.mcap") && e.contains("truncated MCAP"),
        "{e}"
    );
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

/// A bag this package writes (MCAP, zstd chunks, metadata.yaml) is read back by our reader and
/// by `rosbags` with every message equal, and its ros2msg schemas equal rosbags' own.
#[test]
fn bags_we_write_read_back_equal_here_and_in_rosbags() {
    use ndp_ros::bag::BagWriter;
    use ndp_ros::msgs::{DmpPlan, Header};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours");
    let js = |i: usize| JointState {
        header: Header {
            stamp: Time {
                sec: i as i32,
                nanosec: 11,
            },
            frame_id: "base".into(),
        },
        name: vec!["a".into(), "b".into()],
        position: vec![i as f64 * 0.25, -1.5],
        velocity: vec![],
        effort: vec![0.5],
    };
    let plan = |i: usize| DmpPlan {
        header: Header {
            stamp: Time {
                sec: 3,
                nanosec: i as u32,
            },
            frame_id: String::new(),
        },
        joint_names: vec!["a".into(), "b".into()],
        y0: vec![0.1, 0.2],
        dy0: vec![0.0, 0.0],
        g: vec![1.0, i as f64],
        w: (0..10).map(|k| k as f64 - 4.5).collect(),
        n_basis: 5,
        k: 5,
        a_z: 25.0,
        a_x: 1.0,
        dt: 1.0 / 300.0,
    };
    let mut w = BagWriter::create(&path).unwrap();
    for i in 0..40 {
        w.write("/joint_states", 1_000 + i as u64 * 10, &js(i))
            .unwrap();
        if i % 10 == 0 {
            w.write("/ndp_policy/dmp_plan", 1_001 + i as u64 * 10, &plan(i))
                .unwrap();
        }
    }
    // One of every other type, for the schema check against rosbags' definitions.
    w.write("/image", 2_000, &ndp_ros::msgs::Image::default())
        .unwrap();
    w.write("/pose", 2_000, &ndp_ros::msgs::PoseStamped::default())
        .unwrap();
    w.write("/traj", 2_000, &ndp_ros::msgs::JointTrajectory::default())
        .unwrap();
    w.write("/cmd", 2_000, &ndp_ros::msgs::Float64MultiArray::default())
        .unwrap();
    w.write("/clock", 2_000, &ndp_ros::msgs::Clock::default())
        .unwrap();
    let e = w
        .write("/joint_states", 5_000, &plan(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("carries sensor_msgs/msg/JointState"), "{e}");
    w.finish().unwrap();
    assert!(
        BagWriter::create(&path).is_err(),
        "an existing bag is never overwritten"
    );

    // Our reader.
    let bag = Bag::open(&path).unwrap();
    assert_eq!(bag.storage, Storage::Mcap);
    let msgs = bag.messages().unwrap();
    let got: Vec<JointState> = decoded(&msgs, "/joint_states");
    assert_eq!(got, (0..40).map(js).collect::<Vec<_>>());
    let plans: Vec<DmpPlan> = decoded(&msgs, "/ndp_policy/dmp_plan");
    assert_eq!(plans, [0, 10, 20, 30].map(plan));

    // rosbags.
    let out = Command::new(python())
        .arg("test/bags/read_bag.py")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let theirs: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["topic"] == "/joint_states")
        .collect();
    assert_eq!(theirs.len(), 40);
    for (i, l) in theirs.iter().enumerate() {
        let want = js(i);
        assert_eq!(l["t"], 1_000 + i as u64 * 10);
        assert_eq!(l["msg"]["header"]["stamp"]["sec"], want.header.stamp.sec);
        assert_eq!(l["msg"]["header"]["stamp"]["nanosec"], 11);
        assert_eq!(l["msg"]["header"]["frame_id"], "base");
        assert_eq!(l["msg"]["name"], serde_json::json!(want.name));
        assert_eq!(l["msg"]["position"], serde_json::json!(want.position));
        assert_eq!(l["msg"]["velocity"], serde_json::json!(want.velocity));
        assert_eq!(l["msg"]["effort"], serde_json::json!(want.effort));
    }
    let theirs: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["topic"] == "/ndp_policy/dmp_plan")
        .collect();
    assert_eq!(theirs.len(), 4);
    for (l, want) in theirs.iter().zip([0, 10, 20, 30].map(plan)) {
        assert_eq!(l["type"], "ndp_ros_msgs/msg/DmpPlan");
        assert_eq!(l["msg"]["g"], serde_json::json!(want.g));
        assert_eq!(l["msg"]["w"], serde_json::json!(want.w));
        assert_eq!(l["msg"]["dt"], serde_json::json!(want.dt));
        assert_eq!(l["msg"]["k"], 5);
        assert_eq!(
            l["msg"]["header"]["stamp"]["nanosec"],
            want.header.stamp.nanosec
        );
    }
    let schemas: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("schema").is_some()).collect();
    assert_eq!(
        schemas.len(),
        6,
        "the schemas of the six standard types checked: {lines:?}"
    );
    assert!(schemas.iter().all(|s| s["equal"] == true), "{schemas:?}");
}

#[test]
fn compressed_chunks_written_by_the_mcap_package_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new(python())
        .arg("test/bags/write_mcap_chunks.py")
        .arg(dir.path())
        .status()
        .expect("python with mcap: run scripts/setup.sh")
        .success();
    assert!(ok, "test/bags/write_mcap_chunks.py failed");
    for name in ["lz4.mcap", "zstd.mcap", "none.mcap"] {
        let bag = Bag::open(&dir.path().join(name)).unwrap();
        assert_eq!(bag.storage, Storage::Mcap);
        check_joint_states(&bag);
    }
    // One flipped byte inside a stored message: the chunk CRC catches it, naming the file.
    let mut bytes = std::fs::read(dir.path().join("none.mcap")).unwrap();
    let at = bytes.windows(4).position(|w| w == b"base").unwrap();
    bytes[at + 1] ^= 0x20;
    let bad = dir.path().join("flipped.mcap");
    std::fs::write(&bad, &bytes).unwrap();
    let e = Bag::open(&bad).unwrap().messages().unwrap_err().to_string();
    assert!(e.contains("flipped.mcap") && e.contains("CRC"), "{e}");
}

#[test]
fn images_decode_in_place_equal_to_the_copying_decoder() {
    use ndp_ros::bag::BagWriter;
    use ndp_ros::msgs::{Header, Image, ImageRef};
    let dir = tempfile::tempdir().unwrap();
    for compress in [false, true] {
        let path = dir.path().join(format!("img_{compress}"));
        let mut w = BagWriter::create_with(&path, compress).unwrap();
        let imgs: Vec<Image> = (0..3u8)
            .map(|i| Image {
                header: Header {
                    stamp: Time {
                        sec: i as i32,
                        nanosec: 5,
                    },
                    frame_id: "cam".into(),
                },
                height: 2,
                width: 3,
                encoding: "rgb8".into(),
                is_bigendian: 0,
                step: 9,
                data: (0..18).map(|j| j * 7 + i).collect(),
            })
            .collect();
        for (i, img) in imgs.iter().enumerate() {
            w.write("/camera/image_raw", i as u64, img).unwrap();
        }
        w.finish().unwrap();
        let bag = Bag::open(&path).unwrap();
        let mut seen = 0;
        bag.for_each_message(|file, m| {
            assert!(file.to_string_lossy().ends_with(".mcap"));
            let r: ImageRef = m.decode_as(ImageRef::ROS_TYPE).unwrap();
            let want = &imgs[seen];
            assert_eq!(
                (
                    &r.header,
                    r.height,
                    r.width,
                    r.encoding.as_str(),
                    r.step,
                    r.data
                ),
                (&want.header, 2, 3, "rgb8", 9, &want.data[..])
            );
            // The wrong type is refused with the topic named.
            let e = m
                .decode_as::<ImageRef>("sensor_msgs/msg/JointState")
                .unwrap_err();
            assert!(e.to_string().contains("/camera/image_raw"));
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 3);
    }
}
