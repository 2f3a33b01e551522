//! The digit generator and its file format.

use ndp_ros::data::digits::{generate, GenerateSpec, IMAGE_SIZE, POINTS};
use ndp_ros::data::image::resize_bilinear;
use ndp_ros::data::DigitSet;

fn spec(count: usize, seed: u64) -> GenerateSpec {
    GenerateSpec { count, seed }
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = DigitSet::from_samples(&generate(spec(50, 3)));
    let b = DigitSet::from_samples(&generate(spec(50, 3)));
    let c = DigitSet::from_samples(&generate(spec(50, 4)));
    assert_eq!(a.images, b.images);
    assert_eq!(a.trajectories, b.trajectories);
    assert_eq!(a.labels, b.labels);
    assert_ne!(a.trajectories, c.trajectories);
}

#[test]
fn samples_are_smooth_strokes_drawn_in_their_images() {
    let samples = generate(spec(300, 1));
    let mut seen = [false; 10];
    for s in &samples {
        seen[s.label as usize] = true;
        assert_eq!(s.trajectory.len(), POINTS);
        assert_eq!(s.image.len(), IMAGE_SIZE * IMAGE_SIZE);
        for p in &s.trajectory {
            assert!(
                p.iter().all(|v| (0.0..IMAGE_SIZE as f32).contains(v)),
                "{p:?} outside the frame"
            );
            // The pen passes over every point: that pixel is inked.
            let (x, y) = (p[0] as usize, p[1] as usize);
            assert!(
                s.image[y * IMAGE_SIZE + x] >= 128,
                "no ink under the pen at {p:?}"
            );
        }
        // Minimum jerk: at rest at both ends, moving in between.
        let step = |i: usize| {
            let (a, b) = (s.trajectory[i], s.trajectory[i + 1]);
            (b[0] - a[0]).hypot(b[1] - a[1])
        };
        assert!(step(0) < 1e-3 && step(POINTS - 2) < 1e-3);
        assert!(step(POINTS / 2) > 0.05);
        // The start and the goal differ in both axes (the DMP scales its forcing by g - y0).
        let (first, last) = (s.trajectory[0], s.trajectory[POINTS - 1]);
        let dx = (last[0] - first[0]).abs();
        let dy = (last[1] - first[1]).abs();
        assert!(
            dx.max(dy) > 4.0,
            "class {}: start and end too close",
            s.label
        );
    }
    assert!(seen.iter().all(|&s| s), "all ten classes appear: {seen:?}");
}

#[test]
fn split_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.safetensors");
    let set = DigitSet::from_samples(&generate(spec(20, 9)));
    set.save(&path).unwrap();
    let back = DigitSet::load(&path).unwrap();
    assert_eq!(back.images, set.images);
    assert_eq!(back.trajectories, set.trajectories);
    assert_eq!(back.labels, set.labels);
}

#[test]
fn truncated_split_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.safetensors");
    DigitSet::from_samples(&generate(spec(20, 9)))
        .save(&path)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let e = DigitSet::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("train.safetensors") && e.contains("truncated"),
        "{e}"
    );
}

#[test]
fn wrong_shapes_name_the_field() {
    use candle_core::{Device, Tensor};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.safetensors");
    let dev = Device::Cpu;
    let mut map = std::collections::HashMap::new();
    map.insert(
        "labels".to_string(),
        Tensor::zeros(4, candle_core::DType::U8, &dev).unwrap(),
    );
    map.insert(
        "images".to_string(),
        Tensor::zeros((4, 40, 40), candle_core::DType::U8, &dev).unwrap(),
    );
    map.insert(
        "trajectories".to_string(),
        Tensor::zeros((4, 100, 2), candle_core::DType::F32, &dev).unwrap(),
    );
    candle_core::safetensors::save(&map, &path).unwrap();
    let e = DigitSet::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("`trajectories`") && e.contains("[4, 100, 2]") && e.contains("301"),
        "{e}"
    );
    map.remove("images");
    candle_core::safetensors::save(&map, &path).unwrap();
    let e = DigitSet::load(&path).unwrap_err().to_string();
    assert!(e.contains("`images`") && e.contains("missing"), "{e}");
}

#[test]
fn resize_keeps_constants_and_ramps() {
    let src = vec![0.25f32; 40 * 40];
    let mut dst = vec![0f32; 28 * 28];
    resize_bilinear(&src, 40, 40, 28, 28, &mut dst);
    assert!(dst.iter().all(|v| (v - 0.25).abs() < 1e-6));
    // A horizontal ramp stays a ramp with the same ends' order.
    let ramp: Vec<f32> = (0..40 * 40).map(|i| (i % 40) as f32 / 39.0).collect();
    resize_bilinear(&ramp, 40, 40, 28, 28, &mut dst);
    for row in dst.chunks(28) {
        assert!(row.windows(2).all(|w| w[1] > w[0]));
    }
}
