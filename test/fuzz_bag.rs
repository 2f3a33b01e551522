//! Fuzzing (proptest) of the CDR decoder and the bag reader: arbitrary bytes as every message
//! type, and valid bags with bytes flipped, inserted or cut, must give Ok or a clear error,
//! never a panic or an abort. Cases per property: PROPTEST_CASES (default 256 here; the
//! closing note of issue 7 gives a longer run).

use std::path::Path;

use ndp_ros::bag::{Bag, BagMessage, BagWriter};
use ndp_ros::msgs::{
    DmpPlan, Float64MultiArray, Image, JointState, JointTrajectory, JointTrajectoryPoint,
    PoseStamped, RosMessage,
};
use proptest::prelude::*;

fn message<M: RosMessage>(data: Vec<u8>) -> BagMessage {
    BagMessage {
        topic: "/fuzz".into(),
        msg_type: M::ros_type(),
        log_time_ns: 0,
        data,
        file: "fuzz.mcap".into(),
        index: 0,
    }
}

/// Decodes `data` as every type; the result is irrelevant, not panicking is the property.
fn decode_all(data: &[u8]) {
    let _ = message::<JointState>(data.to_vec()).decode::<JointState>();
    let _ = message::<Image>(data.to_vec()).decode::<Image>();
    let _ = message::<JointTrajectory>(data.to_vec()).decode::<JointTrajectory>();
    let _ = message::<Float64MultiArray>(data.to_vec()).decode::<Float64MultiArray>();
    let _ = message::<PoseStamped>(data.to_vec()).decode::<PoseStamped>();
    let _ = message::<DmpPlan>(data.to_vec()).decode::<DmpPlan>();
}

/// A small valid MCAP bag (zstd chunks) of a few message types, made once.
fn valid_bag() -> Vec<u8> {
    static SEED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        write_seed(dir.path())
    })
    .clone()
}

fn write_seed(dir: &Path) -> Vec<u8> {
    let path = dir.join("seed");
    let mut w = BagWriter::create(&path).unwrap();
    for i in 0..20u64 {
        let js = JointState {
            name: vec!["a".into(), "b".into()],
            position: vec![i as f64, -(i as f64)],
            ..Default::default()
        };
        w.write("/joint_states", i * 1000, &js).unwrap();
        let jt = JointTrajectory {
            joint_names: vec!["a".into(), "b".into()],
            points: vec![JointTrajectoryPoint {
                positions: vec![0.5, 0.25],
                ..Default::default()
            }],
            ..Default::default()
        };
        w.write("/cmd", i * 1000 + 1, &jt).unwrap();
    }
    w.finish().unwrap();
    std::fs::read(path.join("seed_0.mcap")).unwrap()
}

/// Opens `bytes` as a bare .mcap and decodes every message as its type.
fn read_all(dir: &Path, bytes: &[u8]) {
    let path = dir.join("case.mcap");
    std::fs::write(&path, bytes).unwrap();
    if let Ok(msgs) = Bag::open(&path).and_then(|b| b.messages()) {
        for m in &msgs {
            match m.topic.as_str() {
                "/joint_states" => drop(m.decode::<JointState>()),
                _ => drop(m.decode::<JointTrajectory>()),
            }
        }
    }
}

proptest! {
    // Cases: PROPTEST_CASES (proptest's default reads it; 256 when unset).
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn cdr_decoder_never_panics_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&data);
    }

    /// Valid headers with random bodies reach deep into the decoders (lengths, strings).
    #[test]
    fn cdr_decoder_never_panics_on_random_bodies(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        little in any::<bool>(),
    ) {
        let mut data = vec![0, little as u8, 0, 0];
        data.extend(body);
        decode_all(&data);
    }

    #[test]
    fn bag_reader_never_panics_on_damaged_files(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = valid_bag();
        for (at, value, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => { bytes.remove(i); }
            }
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        read_all(dir.path(), &bytes);
    }
}
