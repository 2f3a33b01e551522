//! The node's logic on a fake clock: the published trajectory is the DMP rollout of the policy
//! output; reordering, limits, the watchdog and bad inputs behave as specified.
#![allow(clippy::needless_range_loop)] // joint-indexed loops read as the math does

use ndp_ros::dmp::{DmpConfig, DmpStepper};
use ndp_ros::msgs::{Header, Image, JointState, Time};
use ndp_ros::node::{Controller, NodeParams, PlanInput, Planner};
use ndp_ros::ros::{ParamMap, ParamValue};

const JOINTS: [&str; 3] = ["j1", "j2", "j3"];

/// A planner returning fixed (g, w), recording what it was given.
struct Fixed {
    g: Vec<f64>,
    w: Vec<f64>,
    calls: Vec<Vec<f64>>,
}

impl Planner for Fixed {
    fn plan(&mut self, input: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        self.calls.push(input.state.positions.clone());
        Ok((self.g.clone(), self.w.clone()))
    }
}

fn dmp() -> DmpConfig {
    let mut c = DmpConfig::new(5, 5);
    c.substeps = 8;
    c.a_z = 10.0;
    c
}

fn params(extra: &[(&str, ParamValue)]) -> NodeParams {
    let mut m = ParamMap::new();
    m.insert(
        "checkpoint".into(),
        ParamValue::String("/nonexistent".into()),
    );
    m.insert(
        "joint_names".into(),
        ParamValue::StringArray(JOINTS.iter().map(|s| s.to_string()).collect()),
    );
    m.insert("rate_hz".into(), ParamValue::Double(100.0));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    NodeParams::from_map(&m).unwrap()
}

fn weights() -> Vec<f64> {
    (0..15)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) * 20.0)
        .collect()
}

fn controller(extra: &[(&str, ParamValue)]) -> Controller<Fixed> {
    let planner = Fixed {
        g: vec![1.0, -0.5, 0.25],
        w: weights(),
        calls: vec![],
    };
    Controller::new(params(extra), planner, &dmp(), 28).unwrap()
}

fn ms(t: i64) -> Time {
    Time::from_nanos(t * 1_000_000)
}

fn joint_state(names: &[&str], pos: &[f64]) -> JointState {
    JointState {
        header: Header::default(),
        name: names.iter().map(|s| s.to_string()).collect(),
        position: pos.to_vec(),
        velocity: vec![],
        effort: vec![],
    }
}

fn rollout(y0: &[f64], g: &[f64], w: &[f64]) -> Vec<Vec<f64>> {
    let cfg = dmp();
    let mut s = DmpStepper::new(&cfg, 3);
    s.reset(y0, &[0.0; 3], g, w).unwrap();
    (0..cfg.t)
        .map(|_| {
            for _ in 0..cfg.substeps {
                s.step();
            }
            s.position().to_vec()
        })
        .collect()
}

#[test]
fn publishes_nothing_before_the_first_valid_observation() {
    let mut c = controller(&[]);
    assert!(!c.tick(ms(0)).command);
    c.on_joint_state(&joint_state(&["j1", "j2"], &[0.0, 0.0]), ms(1));
    assert!(!c.tick(ms(2)).command, "missing j3: still nothing");
    assert_eq!(c.rejects().count("missing_joint"), 1);
}

/// Joint states arrive in another order; the DMP starts from them in controller order, and
/// both the horizon and the streamed setpoints are the DMP rollout of the planner's (g, w).
#[test]
fn commands_are_the_dmp_rollout_from_the_reordered_state() {
    let mut c = controller(&[]);
    c.on_joint_state(&joint_state(&["j3", "j1", "j2"], &[0.3, 0.1, 0.2]), ms(0));
    let t = c.tick(ms(10));
    assert!(t.command && t.new_plan && !t.holding);
    let y0 = [0.1, 0.2, 0.3];
    assert_eq!(c.plan().y0, y0);
    let want = rollout(&y0, &[1.0, -0.5, 0.25], &weights());
    // The horizon is twice the replan period (k = 5 ticks): the plan, then its end at rest.
    assert_eq!(c.horizon().len(), 10);
    for (i, sp) in c.horizon().iter().enumerate() {
        let w = &want[i.min(4)];
        for j in 0..3 {
            assert!((sp.positions[j] - w[j]).abs() < 1e-12, "point {i}");
        }
        if i >= 4 {
            assert_eq!(sp.velocities, [0.0; 3], "point {i} is past the plan's end");
        }
    }
    // Streaming: tick i publishes point i of the same rollout.
    assert!((c.setpoint().positions[0] - want[0][0]).abs() < 1e-12);
    for (i, w) in want.iter().enumerate().skip(1) {
        let t = c.tick(ms(10 + i as i64 * 10));
        assert!(t.command && !t.new_plan);
        for j in 0..3 {
            assert!(
                (c.setpoint().positions[j] - w[j]).abs() < 1e-12,
                "tick {i} joint {j}"
            );
        }
    }
    // The k-th tick after a plan makes the next plan.
    c.on_joint_state(&joint_state(&JOINTS, &[0.5, 0.5, 0.5]), ms(55));
    assert!(c.tick(ms(60)).new_plan);
    assert_eq!(c.plan().y0, [0.5, 0.5, 0.5]);
}

#[test]
fn velocities_are_in_units_per_second() {
    let mut c = controller(&[]);
    c.on_joint_state(&joint_state(&JOINTS, &[0.0, 0.0, 0.0]), ms(0));
    c.tick(ms(1));
    let cfg = dmp();
    let mut s = DmpStepper::new(&cfg, 3);
    s.reset(&[0.0; 3], &[0.0; 3], &[1.0, -0.5, 0.25], &weights())
        .unwrap();
    for _ in 0..cfg.substeps {
        s.step();
    }
    // One tick is 1/T of DMP time and 1/rate of wall time.
    let scale = 100.0 / cfg.t as f64;
    for j in 0..3 {
        assert!((c.setpoint().velocities[j] - s.velocity()[j] * scale).abs() < 1e-9);
    }
}

#[test]
fn nan_and_malformed_states_are_skipped_and_counted() {
    let mut c = controller(&[]);
    c.on_joint_state(&joint_state(&JOINTS, &[0.0, 0.0, 0.0]), ms(0));
    c.on_joint_state(&joint_state(&JOINTS, &[0.0, f64::NAN, 0.0]), ms(1));
    let mut bad = joint_state(&JOINTS, &[1.0, 1.0]);
    bad.name.truncate(3);
    c.on_joint_state(&bad, ms(2));
    assert_eq!(c.rejects().count("non_finite"), 1);
    assert_eq!(c.rejects().count("malformed"), 1);
    assert!(c.tick(ms(3)).command);
    assert_eq!(c.plan().y0, [0.0, 0.0, 0.0], "the last valid state is used");
}

#[test]
fn stale_inputs_hold_the_last_command_then_resume() {
    let mut c = controller(&[("input_timeout_s", ParamValue::Double(0.05))]);
    c.on_joint_state(&joint_state(&JOINTS, &[0.0, 0.0, 0.0]), ms(0));
    for i in 1..=3 {
        assert!(!c.tick(ms(i * 10)).holding);
    }
    let last = c.setpoint().positions.clone();
    let t = c.tick(ms(60));
    assert!(t.holding && t.hold_started && t.command);
    assert_eq!(c.setpoint().positions, last);
    assert!(c.setpoint().velocities.iter().all(|v| *v == 0.0));
    let t = c.tick(ms(70));
    assert!(t.holding && !t.hold_started);
    assert_eq!(c.setpoint().positions, last, "hold does not drift");
    c.on_joint_state(&joint_state(&JOINTS, &[0.2, 0.2, 0.2]), ms(75));
    let t = c.tick(ms(80));
    assert!(
        !t.holding && t.new_plan,
        "fresh input: a new plan from the new state"
    );
    assert_eq!(c.plan().y0, [0.2, 0.2, 0.2]);
}

#[test]
fn position_and_velocity_limits_clamp_every_command() {
    let extra = [
        (
            "position_min",
            ParamValue::DoubleArray(vec![-0.01, -0.01, -0.01]),
        ),
        (
            "position_max",
            ParamValue::DoubleArray(vec![0.01, 0.01, 0.01]),
        ),
        ("velocity_max", ParamValue::DoubleArray(vec![0.5, 0.5, 0.5])),
    ];
    let mut c = controller(&extra);
    c.on_joint_state(&joint_state(&JOINTS, &[0.0, 0.0, 0.0]), ms(0));
    let mut prev = vec![0.0; 3];
    for i in 1..=12 {
        c.tick(ms(i * 10));
        for j in 0..3 {
            let p = c.setpoint().positions[j];
            assert!((-0.01..=0.01).contains(&p), "tick {i}: {p}");
            assert!(
                (p - prev[j]).abs() <= 0.5 / 100.0 + 1e-12,
                "speed limit at tick {i}"
            );
            assert!(c.setpoint().velocities[j].abs() <= 0.5);
        }
        prev = c.setpoint().positions.clone();
    }
    for sp in c.horizon() {
        assert!(sp.positions.iter().all(|p| (-0.01..=0.01).contains(p)));
    }
}

struct NanPlanner;
impl Planner for NanPlanner {
    fn plan(&mut self, _: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        Ok((vec![f64::NAN; 3], vec![0.0; 15]))
    }
}

#[test]
fn a_nan_policy_output_holds_the_robot() {
    let mut c = Controller::new(params(&[]), NanPlanner, &dmp(), 28).unwrap();
    c.on_joint_state(&joint_state(&JOINTS, &[0.4, 0.5, 0.6]), ms(0));
    let t = c.tick(ms(1));
    assert!(t.holding && t.command);
    assert_eq!(c.setpoint().positions, [0.4, 0.5, 0.6]);
    assert_eq!(c.rejects().count("policy_output"), 1);
}

fn image(encoding: &str, w: u32, h: u32, px: impl Fn(u32, u32) -> [u8; 3]) -> Image {
    let ch = if encoding == "mono8" { 1 } else { 3 };
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let p = px(x, y);
            match encoding {
                "mono8" => data.push(p[0]),
                "bgr8" => data.extend([p[2], p[1], p[0]]),
                _ => data.extend(p),
            }
        }
    }
    Image {
        header: Header::default(),
        height: h,
        width: w,
        encoding: encoding.into(),
        is_bigendian: 0,
        step: w * ch,
        data,
    }
}

struct ImageProbe(Vec<Vec<f32>>);
impl Planner for ImageProbe {
    fn plan(&mut self, input: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        self.0.push(input.image.expect("image mode").to_vec());
        Ok((vec![0.0; 3], vec![0.0; 15]))
    }
}

#[test]
fn images_are_converted_and_bad_ones_rejected() {
    let extra = [
        ("observation", ParamValue::String("image".into())),
        ("image_width", ParamValue::Integer(40)),
        ("image_height", ParamValue::Integer(40)),
    ];
    let mut c = Controller::new(params(&extra), ImageProbe(vec![]), &dmp(), 28).unwrap();
    c.on_joint_state(&joint_state(&JOINTS, &[0.0; 3]), ms(0));
    assert!(!c.tick(ms(1)).command, "image mode waits for an image");
    c.on_image(&image("rgba8", 40, 40, |_, _| [0; 3]), ms(2));
    c.on_image(&image("rgb8", 32, 40, |_, _| [0; 3]), ms(2));
    let mut short = image("rgb8", 40, 40, |_, _| [0; 3]);
    short.data.truncate(100);
    c.on_image(&short, ms(2));
    assert_eq!(c.rejects().count("image_encoding"), 1);
    assert_eq!(c.rejects().count("image_size"), 2);
    assert!(!c.tick(ms(3)).command);
    // A gray pattern gives the same input in all three encodings; colour is luminance.
    let gray = |x: u32, y: u32| {
        let v = ((x * 6 + y * 3) % 256) as u8;
        [v, v, v]
    };
    let mut inputs = Vec::new();
    for enc in ["mono8", "rgb8", "bgr8"] {
        let mut c = Controller::new(params(&extra), ImageProbe(vec![]), &dmp(), 28).unwrap();
        c.on_joint_state(&joint_state(&JOINTS, &[0.0; 3]), ms(0));
        c.on_image(&image(enc, 40, 40, gray), ms(1));
        assert!(c.tick(ms(2)).new_plan);
        inputs.push(c.planner().0[0].clone());
    }
    assert_eq!(inputs[0].len(), 28 * 28, "resized to the model's input");
    assert!(inputs[0].iter().any(|v| *v > 0.2));
    for other in &inputs[1..] {
        let diff = inputs[0]
            .iter()
            .zip(other)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "same gray image in every encoding: {diff}");
    }
    // Pure red is 0.299 in luminance, whichever channel order carries it.
    for (enc, px) in [("rgb8", [255u8, 0, 0]), ("bgr8", [255, 0, 0])] {
        let mut c = Controller::new(params(&extra), ImageProbe(vec![]), &dmp(), 28).unwrap();
        c.on_joint_state(&joint_state(&JOINTS, &[0.0; 3]), ms(0));
        c.on_image(&image(enc, 40, 40, move |_, _| px), ms(1));
        c.tick(ms(2));
        assert!(
            c.planner().0[0].iter().all(|v| (v - 0.299).abs() < 1e-5),
            "{enc}"
        );
    }
}

/// The whole loop over the in-memory transport with a fake clock: remapped topics, the
/// horizon published as a JointTrajectory, the plan on ~/dmp_plan, a final hold at stop.
#[test]
fn the_run_loop_publishes_over_a_transport() {
    use futures::StreamExt;
    use ndp_ros::msgs::{DmpPlan, JointTrajectory};
    use ndp_ros::node::run::run;
    use ndp_ros::ros::memory::MemoryTransport;
    use ndp_ros::ros::names::NameResolver;
    use ndp_ros::ros::{Qos, Transport};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    let t = Arc::new(MemoryTransport::new("/robot/policy", ParamMap::new()));
    let names = NameResolver::new(
        "policy",
        "/robot",
        &[("/robot/joint_states".into(), "/arm/js".into())],
    );
    let p = params(&[
        (
            "joint_state_topic",
            ParamValue::String("joint_states".into()),
        ),
        ("publish_plan", ParamValue::Bool(true)),
        ("rate_hz", ParamValue::Double(500.0)),
    ]);
    let c = Controller::new(
        p,
        Fixed {
            g: vec![1.0, -0.5, 0.25],
            w: weights(),
            calls: vec![],
        },
        &dmp(),
        28,
    )
    .unwrap();
    let mut cmds = t
        .subscribe::<JointTrajectory>(
            "/robot/joint_trajectory_controller/joint_trajectory",
            Qos::DEFAULT,
        )
        .unwrap();
    let mut plans = t
        .subscribe::<DmpPlan>("/robot/policy/dmp_plan", Qos::DEFAULT)
        .unwrap();
    let js = t.publisher::<JointState>("/arm/js", Qos::DEFAULT).unwrap();
    t.set_time(ms(1000));
    let runner = {
        let t = t.clone();
        std::thread::spawn(move || run(t, &names, c, Arc::new(AtomicBool::new(false)), Some(40)))
    };
    while t.subscriber_count("/arm/js") == 0 {
        std::thread::yield_now();
    }
    js.publish(&joint_state(&["j3", "j2", "j1"], &[0.3, 0.2, 0.1]))
        .unwrap();
    let stats = runner.join().unwrap().unwrap();
    assert_eq!(stats.ticks, 40);
    assert!(stats.published > 0, "nothing published in 40 ticks");
    let want = rollout(&[0.1, 0.2, 0.3], &[1.0, -0.5, 0.25], &weights());
    let first = futures::executor::block_on(cmds.next()).unwrap();
    assert_eq!(first.joint_names, JOINTS);
    assert_eq!(first.points.len(), 10, "twice the replan period");
    // The rollout, fast-forwarded by the whole ticks the planner thread took (0 to 2 here).
    let fits = |skip: usize| {
        first.points.iter().enumerate().all(|(i, pt)| {
            let w = &want[(i + skip).min(want.len() - 1)];
            (0..3).all(|j| (pt.positions[j] - w[j]).abs() < 1e-12)
        })
    };
    assert!((0..=2).any(fits), "{:?} vs {want:?}", first.points);
    assert!((first.points[0].time_from_start.as_secs_f64() - 1.0 / 500.0).abs() < 1e-9);
    let plan = futures::executor::block_on(plans.next()).unwrap();
    assert_eq!(plan.y0, [0.1, 0.2, 0.3]);
    assert_eq!(plan.w, weights());
    assert_eq!(plan.header.stamp, ms(1000));
    // The clock never moved, so inputs stayed fresh: a plan every k = 5 ticks from the tick
    // the state arrived (8 in 40 ticks when it came at once; the planner's own schedule may fit a
    // ninth), then one final hold at rest.
    let mut rest = Vec::new();
    while let Some(Some(m)) = futures::FutureExt::now_or_never(cmds.next()) {
        rest.push(m);
    }
    // The final hold: a trajectory that ends at rest (no acceleration limit: at rest at once,
    // at the last command).
    let hold = rest.pop().expect("final hold");
    assert_eq!(hold.points.len(), 10);
    let last = hold.points.last().unwrap();
    assert!(last.velocities.iter().all(|v| *v == 0.0));
    assert_eq!(hold.points[0].positions, last.positions);
    // Published: the first, the rest, and the final hold.
    assert_eq!(rest.len() + 2, stats.published as usize);
    assert!(
        (2..=10).contains(&stats.published),
        "{} plans",
        stats.published
    );
}

/// `observation: both` with a `cnn_state` model: the node waits for both inputs, and the plan
/// is the network's (g, w) for the converted image and the reordered joint state together.
#[test]
fn both_mode_feeds_image_and_state_to_a_fused_model() {
    use candle_core::{Device, Tensor};
    use ndp_ros::node::planner::PolicyPlanner;
    use ndp_ros::policy::EncoderKind;
    use ndp_ros::train::{checkpoint, RunConfig};

    let text = std::fs::read_to_string("config/digits_ndp.yaml").unwrap();
    let mut cfg: RunConfig = serde_yaml::from_str(&text).unwrap();
    cfg.model.encoder = EncoderKind::CnnState;
    cfg.model.state_size = 3;
    cfg.model.encoder_hidden = vec![16];
    cfg.model.dof = 3;
    cfg.dmp = dmp();
    let (policy, _) = checkpoint::init(&cfg, &Device::Cpu).unwrap();
    let extra = [
        ("observation", ParamValue::String("both".into())),
        ("image_width", ParamValue::Integer(40)),
        ("image_height", ParamValue::Integer(40)),
    ];
    let planner = PolicyPlanner::new(policy.clone(), &params(&extra)).unwrap();
    let mut c = Controller::new(params(&extra), planner, &cfg.dmp, 28).unwrap();
    let gray = |x: u32, y: u32| {
        let v = ((x * 5 + y * 7) % 256) as u8;
        [v, v, v]
    };
    c.on_joint_state(&joint_state(&["j3", "j1", "j2"], &[0.3, 0.1, 0.2]), ms(0));
    assert!(!c.tick(ms(1)).command, "both mode waits for an image");
    c.on_image(&image("rgb8", 40, 40, gray), ms(2));
    assert!(c.tick(ms(3)).new_plan);

    // The same image through an image-mode controller gives the pixels the model saw.
    let img_extra = [
        ("observation", ParamValue::String("image".into())),
        ("image_width", ParamValue::Integer(40)),
        ("image_height", ParamValue::Integer(40)),
    ];
    let mut probe = Controller::new(params(&img_extra), ImageProbe(vec![]), &dmp(), 28).unwrap();
    probe.on_joint_state(&joint_state(&JOINTS, &[0.0; 3]), ms(0));
    probe.on_image(&image("rgb8", 40, 40, gray), ms(1));
    assert!(probe.tick(ms(2)).new_plan);
    let px = probe.planner().0[0].clone();
    let img = Tensor::from_vec(px, (1, 1, 28, 28), &Device::Cpu).unwrap();
    let state = Tensor::from_vec(vec![0.1f32, 0.2, 0.3], (1, 3), &Device::Cpu).unwrap();
    let raw = policy.raw_fused(&img, &state).unwrap();
    let (g, w) = policy.dmp_params(&raw, &state).unwrap();
    let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
    let w: Vec<f32> = w.flatten_all().unwrap().to_vec1().unwrap();
    let plan = c.plan();
    assert_eq!(plan.y0, [0.1, 0.2, 0.3]);
    for (a, b) in plan.g.iter().zip(&g).chain(plan.w.iter().zip(&w)) {
        assert!((a - *b as f64).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
    // The state matters: another joint state gives another goal offset.
    let other = Tensor::from_vec(vec![5.0f32, -3.0, 2.0], (1, 3), &Device::Cpu).unwrap();
    let raw2 = policy.raw_fused(&img, &other).unwrap();
    assert!(
        (raw2 - &raw)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 1e-3
    );

    // A state-only model cannot serve `both`, and a fused model needs both inputs.
    let e = policy.raw(&img).unwrap_err().to_string();
    assert!(e.contains("raw_fused"), "{e}");
    let mut state_cfg = cfg.clone();
    state_cfg.model.encoder = EncoderKind::Mlp;
    state_cfg.model.input_size = 3;
    let (state_policy, _) = checkpoint::init(&state_cfg, &Device::Cpu).unwrap();
    let e = PolicyPlanner::new(state_policy, &params(&extra))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("observation") && e.contains("Both") && e.contains("Mlp"),
        "{e}"
    );
}
