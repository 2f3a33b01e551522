//! The node's safety acceptance cases (issue 14), on the one-thread controller with a fake
//! clock: whatever arrives, commands stay in the box or move back toward it at no more than
//! velocity_max, the step limit always holds, holds never command a measurement, stale and
//! clock-jumped inputs hold, and sizes are bounded before anything is allocated.
#![allow(clippy::needless_range_loop)]

use ndp_ros::dmp::DmpConfig;
use ndp_ros::msgs::{Header, Image, JointState, Time};
use ndp_ros::node::rejects::Throttle;
use ndp_ros::node::{Controller, NodeParams, PlanInput, Planner};
use ndp_ros::policy::PolicyConfig;
use ndp_ros::ros::{ParamMap, ParamValue};

const JOINTS: [&str; 2] = ["a", "b"];
const VMAX: f64 = 2.175;
const PMAX: f64 = 2.8973;

/// Aims every plan at `goal` (relative to nothing: an absolute goal), w = 0.
struct Goal(Vec<f64>);
impl Planner for Goal {
    fn plan(&mut self, _: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        Ok((self.0.clone(), vec![0.0; 2 * 4]))
    }
}

/// Refuses every other call (NaN goal).
struct Flaky(u32);
impl Planner for Flaky {
    fn plan(&mut self, input: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
        self.0 += 1;
        let g = if self.0 % 2 == 0 {
            f64::NAN
        } else {
            input.state.positions[0] + 0.1
        };
        Ok((vec![g; 2], vec![0.0; 8]))
    }
}

fn dmp() -> DmpConfig {
    let mut c = DmpConfig::new(4, 10);
    c.substeps = 4;
    c
}

fn params(extra: &[(&str, ParamValue)]) -> NodeParams {
    let mut m = ParamMap::new();
    m.insert("checkpoint".into(), ParamValue::String("/x".into()));
    m.insert(
        "joint_names".into(),
        ParamValue::StringArray(JOINTS.iter().map(|s| s.to_string()).collect()),
    );
    m.insert("rate_hz".into(), ParamValue::Double(100.0));
    m.insert(
        "position_min".into(),
        ParamValue::DoubleArray(vec![-PMAX; 2]),
    );
    m.insert(
        "position_max".into(),
        ParamValue::DoubleArray(vec![PMAX; 2]),
    );
    m.insert(
        "velocity_max".into(),
        ParamValue::DoubleArray(vec![VMAX; 2]),
    );
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    NodeParams::from_map(&m).unwrap()
}

fn ms(t: i64) -> Time {
    Time::from_nanos(t * 1_000_000)
}

fn js(pos: &[f64]) -> JointState {
    JointState {
        header: Header::default(),
        name: JOINTS.iter().map(|s| s.to_string()).collect(),
        position: pos.to_vec(),
        velocity: vec![],
        effort: vec![],
    }
}

/// Every command of a run: inside the box, or no further out than the last and moving back;
/// each step at most velocity_max / rate.
fn check_commands(cmds: &[Vec<f64>], start: &[f64], rate: f64) {
    let step = VMAX / rate + 1e-12;
    let mut prev = start.to_vec();
    for (i, c) in cmds.iter().enumerate() {
        for j in 0..c.len() {
            assert!(
                (c[j] - prev[j]).abs() <= step,
                "command {i} joint {j}: step {} > {step}",
                (c[j] - prev[j]).abs()
            );
            let out = (c[j].abs() - PMAX).max(0.0);
            let was = (prev[j].abs() - PMAX).max(0.0);
            assert!(
                out == 0.0 || out < was,
                "command {i} joint {j}: {} outside the box and not moving back",
                c[j]
            );
        }
        prev.clone_from(c);
    }
}

#[test]
fn a_first_state_beyond_f32_is_refused_and_nothing_is_commanded() {
    let mut c = Controller::new(params(&[]), Goal(vec![0.5, 0.5]), &dmp(), 28).unwrap();
    c.on_joint_state(&js(&[1e300, 0.0]), ms(0));
    for i in 1..=100 {
        assert!(!c.tick(ms(i * 10)).command, "no command from a 1e300 state");
    }
    assert_eq!(c.rejects().count("non_finite"), 1);
    // Valid input returns: the first command is one step from the measurement, not a jump.
    c.on_joint_state(&js(&[0.1, -0.2]), ms(1005));
    assert!(c.tick(ms(1010)).command);
    check_commands(&[c.setpoint().positions.clone()], &[0.1, -0.2], 100.0);
}

#[test]
fn a_refused_first_plan_holds_inside_the_box_moving_back_at_velocity_max() {
    struct Nan;
    impl Planner for Nan {
        fn plan(&mut self, _: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
            Ok((vec![f64::NAN; 2], vec![0.0; 8]))
        }
    }
    let mut c = Controller::new(params(&[]), Nan, &dmp(), 28).unwrap();
    let mut cmds = vec![];
    for i in 0..60 {
        c.on_joint_state(&js(&[3.5, 0.0]), ms(i * 10));
        let t = c.tick(ms(i * 10 + 5));
        assert!(t.holding);
        cmds.push(c.setpoint().positions.clone());
    }
    check_commands(&cmds, &[3.5, 0.0], 100.0);
    assert!(cmds[0][0] < 3.5 && cmds[0][0] >= 3.5 - VMAX / 100.0 - 1e-12);
    assert!(
        (cmds[59][0] - PMAX).abs() < 1e-12,
        "reached the box edge and stays there"
    );
    assert!(c.rejects().count("policy_output") > 0);
}

#[test]
fn outside_the_box_the_first_command_moves_back_by_one_step_with_a_consistent_velocity() {
    let mut c = Controller::new(params(&[]), Goal(vec![0.0, 0.0]), &dmp(), 28).unwrap();
    c.on_joint_state(&js(&[3.5, 0.0]), ms(0));
    let mut cmds = vec![];
    for i in 1..=40 {
        c.on_joint_state(
            &js(&cmds.last().cloned().unwrap_or(vec![3.5, 0.0])),
            ms(i * 10 - 5),
        );
        assert!(c.tick(ms(i * 10)).command);
        let sp = c.setpoint();
        let prev = cmds.last().cloned().unwrap_or(vec![3.5, 0.0]);
        // The velocity of a limited setpoint is its step over dt.
        if (sp.positions[0] - prev[0]).abs() >= VMAX / 100.0 - 1e-9 {
            assert!((sp.velocities[0] - (sp.positions[0] - prev[0]) * 100.0).abs() < 1e-9);
        }
        assert!(sp.velocities.iter().all(|v| v.abs() <= VMAX + 1e-12));
        cmds.push(sp.positions.clone());
    }
    check_commands(&cmds, &[3.5, 0.0], 100.0);
    assert!(
        (cmds[0][0] - (3.5 - VMAX / 100.0)).abs() < 1e-12,
        "first step {}",
        cmds[0][0]
    );
}

#[test]
fn the_acceleration_limit_bounds_velocity_changes() {
    let amax = 20.0;
    let p = params(&[("acceleration_max", ParamValue::DoubleArray(vec![amax; 2]))]);
    let mut c = Controller::new(p, Goal(vec![1.5, -1.5]), &dmp(), 28).unwrap();
    let mut prev_v = vec![0.0, 0.0];
    for i in 0..200 {
        c.on_joint_state(&js(&[0.0, 0.0]), ms(i * 10));
        if !c.tick(ms(i * 10 + 1)).command {
            continue;
        }
        let v = &c.setpoint().velocities;
        for j in 0..2 {
            assert!(
                (v[j] - prev_v[j]).abs() <= amax / 100.0 + 1e-9,
                "tick {i}: dv {}",
                v[j] - prev_v[j]
            );
        }
        prev_v.clone_from(v);
    }
}

#[test]
fn a_clock_jumping_back_holds_until_fresh_inputs_arrive() {
    let mut c = Controller::new(
        params(&[("use_sim_time", ParamValue::Bool(true))]),
        Goal(vec![1.0, 1.0]),
        &dmp(),
        28,
    )
    .unwrap();
    for i in 0..20 {
        c.on_joint_state(&js(&[0.0, 0.0]), ms(10_000 + i * 10));
        assert!(!c.tick(ms(10_000 + i * 10 + 1)).holding);
    }
    // A simulator reset: /clock back to 2 s, joint states stopped.
    let t = c.tick(ms(2000));
    assert!(t.holding && t.hold_started, "{t:?}");
    let hold = c.setpoint().positions.clone();
    for i in 1..400 {
        assert!(
            c.tick(ms(2000 + i * 10)).holding,
            "still holding at tick {i}"
        );
        assert_eq!(c.setpoint().positions, hold);
    }
    assert_eq!(c.rejects().count("clock_jumped_back"), 1);
    // Fresh inputs stamped on the new clock: a new plan, resumed.
    c.on_joint_state(&js(&[0.0, 0.0]), ms(6005));
    let t = c.tick(ms(6010));
    assert!(!t.holding && t.new_plan && t.resumed, "{t:?}");
}

#[test]
fn rejected_policy_outputs_do_not_log_resuming_and_count_per_cause() {
    let mut c = Controller::new(params(&[]), Flaky(0), &dmp(), 28).unwrap();
    let mut resumed = 0;
    for i in 0..300 {
        c.on_joint_state(&js(&[0.0, 0.0]), ms(i * 10));
        resumed += c.tick(ms(i * 10 + 1)).resumed as u32;
    }
    assert_eq!(resumed, 0, "no stale inputs, so nothing to resume from");
    assert!(c.rejects().count("policy_output") >= 5);
    assert_eq!(c.rejects().count("stale_inputs"), 0);
}

#[test]
fn a_log_gate_passes_one_line_per_interval_and_counts_the_rest() {
    let t = Throttle::new(3600.0);
    assert_eq!(t.allow(), Some(0));
    for _ in 0..10_000 {
        assert_eq!(t.allow(), None);
    }
    let t = Throttle::new(0.0);
    assert_eq!(t.allow(), Some(0));
    assert_eq!(t.allow(), Some(0));
}

#[test]
fn images_above_image_max_bytes_are_refused_before_decoding() {
    let p = params(&[
        ("observation", ParamValue::String("image".into())),
        ("image_max_bytes", ParamValue::Integer(1_000_000)),
    ]);
    let mut c = Controller::new(p, Goal(vec![0.0, 0.0]), &dmp(), 28).unwrap();
    let big = Image {
        header: Header::default(),
        height: 8000,
        width: 8000,
        encoding: "rgb8".into(),
        is_bigendian: 0,
        step: 24000,
        data: vec![0; 2_000_000], // lies about its size too: never read
    };
    c.on_image(&big, ms(0));
    assert_eq!(c.rejects().count("too_large"), 1);
    c.on_joint_state(&js(&[0.0, 0.0]), ms(0));
    assert!(
        !c.tick(ms(1)).command,
        "no image accepted: nothing to plan from"
    );
}

#[test]
fn joint_states_with_too_many_names_are_refused_unread() {
    let mut c = Controller::new(params(&[]), Goal(vec![0.0, 0.0]), &dmp(), 28).unwrap();
    let n = 1_000_000;
    let msg = JointState {
        header: Header::default(),
        name: (0..n).map(|i| format!("j{i}")).collect(),
        position: vec![0.0; n],
        velocity: vec![],
        effort: vec![],
    };
    c.on_joint_state(&msg, ms(0));
    assert_eq!(c.rejects().count("too_large"), 1);
}

#[test]
fn config_sizes_are_bounded_before_allocation() {
    let mut d = DmpConfig::new(1_000_000_000, 10);
    let e = d.validate("dmp").unwrap_err().to_string();
    assert!(e.contains("dmp.n_basis") && e.contains("bound"), "{e}");
    d = DmpConfig::new(5, 4_000_000_000);
    let e = d.validate("dmp").unwrap_err().to_string();
    assert!(e.contains("dmp.t"), "{e}");
    d = DmpConfig::new(5, 10_000);
    d.substeps = 1000;
    let e = d.validate("dmp").unwrap_err().to_string();
    assert!(e.contains("t * substeps"), "{e}");
    let yaml = "kind: ndp\nencoder: mlp\ninput_size: 14\nencoder_hidden: [64, 1000000000]\nhead_hidden: [64]\ndof: 7\ngoal_scale: 1.0\nweight_scale: 1.0\n";
    let m: PolicyConfig = serde_yaml::from_str(yaml).unwrap();
    let e = m.validate().unwrap_err().to_string();
    assert!(e.contains("model.encoder_hidden[1]"), "{e}");
}

/// A plan spans the seconds the model was trained to cover: the same motion in time at
/// 100 Hz and at 1 kHz (a model trained at 20 Hz on k = 10 samples: 0.5 s).
#[test]
fn the_motion_in_seconds_does_not_depend_on_the_controller_rate() {
    let run = |rate: f64| -> Vec<(f64, Vec<f64>)> {
        let p = params(&[
            ("rate_hz", ParamValue::Double(rate)),
            ("plan_duration_s", ParamValue::Double(0.5)),
            ("velocity_max", ParamValue::DoubleArray(vec![100.0; 2])),
        ]);
        let mut c = Controller::new(p, Goal(vec![1.0, -1.0]), &dmp(), 28).unwrap();
        c.on_joint_state(&js(&[0.0, 0.0]), ms(0));
        let n = (rate * 0.45) as i64;
        let period_ns = (1e9 / rate) as i64;
        (0..n)
            .map(|i| {
                let now = i * period_ns;
                c.on_joint_state(&js(&[0.0, 0.0]), Time::from_nanos(now));
                assert!(c.tick(Time::from_nanos(now)).command);
                // The command is where the robot should be one period later.
                (
                    (now + period_ns) as f64 * 1e-9,
                    c.setpoint().positions.clone(),
                )
            })
            .collect()
    };
    let slow = run(100.0);
    let fast = run(1000.0);
    let at = |v: &[(f64, Vec<f64>)], t: f64| {
        v.iter()
            .find(|(s, _)| (s - t).abs() < 1e-9)
            .map(|x| x.1.clone())
            .unwrap()
    };
    for t in [0.05, 0.1, 0.2, 0.3, 0.4] {
        let (a, b) = (at(&slow, t), at(&fast, t));
        for j in 0..2 {
            assert!(
                (a[j] - b[j]).abs() < 1e-3,
                "t = {t}: {} at 100 Hz vs {} at 1 kHz",
                a[j],
                b[j]
            );
        }
    }
    assert!(at(&slow, 0.4)[0] > 0.5, "it moved: {:?}", at(&slow, 0.4));
}

/// The deployment contract: a model cloned from bags records its time scale, joint order,
/// observation and dy0 convention; the node refuses what does not match, naming both sides.
#[test]
fn deploy_yaml_carries_the_contract_and_the_node_checks_it() {
    use ndp_ros::node::planner::check_deployment;
    use ndp_ros::policy::deployment::{Deployment, Dy0, ObservationKind};
    use ndp_ros::train::RunConfig;
    let mut cfg = RunConfig::load(std::path::Path::new("config/bc_reach_bag.yaml")).unwrap();
    let d = cfg.deployment();
    assert_eq!(d.plan_duration_s, Some(0.25), "k = 5 samples at 20 Hz");
    assert_eq!(d.joint_names, ["hand_x", "hand_y", "hand_z"]);
    assert_eq!(d.observation, ObservationKind::Vector);
    assert_eq!(d.dy0, Dy0::Constant(cfg.model.dy0));
    // Written beside the weights and read back.
    let dir = tempfile::tempdir().unwrap();
    d.save(dir.path()).unwrap();
    assert_eq!(Deployment::load(dir.path()).unwrap(), Some(d.clone()));
    // A vector-observation model: the node says what it lacks.
    let mut m = ParamMap::new();
    m.insert(
        "checkpoint".into(),
        ParamValue::String(dir.path().display().to_string()),
    );
    m.insert(
        "joint_names".into(),
        ParamValue::StringArray(vec!["hand_y".into(), "hand_x".into(), "hand_z".into()]),
    );
    let p = NodeParams::from_map(&m).unwrap();
    let e = check_deployment(&d, &p).unwrap_err().to_string();
    assert!(
        e.contains("parameter observation") && e.contains("Vector"),
        "{e}"
    );
    // A state model trained on another joint order: refused, both orders named.
    cfg.bag_data.as_mut().unwrap().observation = ndp_ros::data::bag_dataset::Observation::State;
    let d = cfg.deployment();
    let e = check_deployment(&d, &p).unwrap_err().to_string();
    assert!(
        e.contains("parameter joint_names") && e.contains("hand_y") && e.contains("deploy.yaml"),
        "{e}"
    );
    // A corrupt contract is an error naming the file.
    std::fs::write(dir.path().join("deploy.yaml"), "format: 1\ntrainer: x\nplan_duration_s: -3\ndy0: measured\naction: positions\nobservation: state\n").unwrap();
    let e = Deployment::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("deploy.yaml") && e.contains("plan_duration_s"),
        "{e}"
    );
}

/// `observation: vector`: the Float64MultiArray observation is checked (finite, bounded) and
/// both it and the joint state must be fresh before a plan.
#[test]
fn vector_observations_are_checked_and_required() {
    use ndp_ros::msgs::Float64MultiArray;
    struct Sees(Vec<f64>);
    impl Planner for Sees {
        fn plan(&mut self, input: &PlanInput) -> ndp_ros::Result<(Vec<f64>, Vec<f64>)> {
            self.0 = input.vector.expect("a vector").to_vec();
            Ok((vec![0.0; 2], vec![0.0; 8]))
        }
    }
    let p = params(&[("observation", ParamValue::String("vector".into()))]);
    let mut c = Controller::new(p, Sees(vec![]), &dmp(), 0).unwrap();
    let v = |data: Vec<f64>| Float64MultiArray {
        data,
        ..Default::default()
    };
    c.on_joint_state(&js(&[0.0, 0.0]), ms(0));
    assert!(!c.tick(ms(1)).command, "no vector yet");
    c.on_vector(&v(vec![1.0, f64::NAN]), ms(2));
    c.on_vector(&v(vec![0.5; 100_000]), ms(2));
    c.on_vector(&v(vec![]), ms(2));
    assert!(!c.tick(ms(3)).command);
    assert_eq!(c.rejects().count("non_finite"), 1);
    assert_eq!(c.rejects().count("too_large"), 1);
    assert_eq!(c.rejects().count("malformed"), 1);
    c.on_vector(&v(vec![0.25, -0.5, 3.0]), ms(4));
    assert!(c.tick(ms(5)).command);
    assert_eq!(c.planner().0, [0.25, -0.5, 3.0]);
}

/// Run-time parameters: the node declares every parameter (a round trip through its map),
/// accepts changes to the limits, input_timeout_s and `enabled`, and refuses the rest with
/// the reason; `enabled: false` holds, and only a plan made after re-enabling resumes.
#[test]
fn runtime_parameters_change_limits_and_switch_the_policy() {
    use ndp_ros::node::controller::runtime;
    use ndp_ros::node::params::validator;
    let p = params(&[]);
    assert_eq!(NodeParams::from_map(&p.to_map()).unwrap(), p);
    let check = validator(p.to_map());
    let e = check("rate_hz", &ParamValue::Double(50.0)).unwrap_err();
    assert!(e.contains("start-up only"), "{e}");
    let e = check("velocity_max", &ParamValue::DoubleArray(vec![-1.0, 1.0])).unwrap_err();
    assert!(e.contains("velocity_max") && e.contains("> 0"), "{e}");
    assert!(check("velocity_max", &ParamValue::DoubleArray(vec![0.5, 0.5])).is_ok());
    assert!(check("enabled", &ParamValue::Bool(false)).is_ok());

    let mut c = Controller::new(p.clone(), Goal(vec![2.0, -2.0]), &dmp(), 28).unwrap();
    let mut t = 0;
    let mut step = |c: &mut Controller<Goal>| {
        t += 10;
        c.on_joint_state(&js(&[0.0, 0.0]), ms(t - 5));
        c.tick(ms(t))
    };
    for _ in 0..5 {
        assert!(step(&mut c).command);
    }
    // A tighter speed limit takes effect on the next tick.
    let mut np = p.clone();
    np.velocity_max = vec![0.5, 0.5];
    c.set_runtime(&runtime(&np));
    let before = c.setpoint().positions.clone();
    assert!(step(&mut c).command);
    for j in 0..2 {
        assert!((c.setpoint().positions[j] - before[j]).abs() <= 0.5 / 100.0 + 1e-12);
    }
    // Off: a hold where the joint can stop, however long.
    np.enabled = false;
    c.set_runtime(&runtime(&np));
    let t1 = step(&mut c);
    assert!(t1.holding && t1.hold_started);
    let hold = c.setpoint().positions.clone();
    for _ in 0..50 {
        assert!(step(&mut c).holding);
        assert_eq!(c.setpoint().positions, hold);
    }
    // Moved while off (an operator, a simulator reset): on again, a fresh plan from where the
    // robot is now, not a drag back to where the policy left it; then motion within limits.
    let moved = [1.5, -1.0];
    for _ in 0..3 {
        t += 10;
        c.on_joint_state(&js(&moved), ms(t - 5));
        assert!(c.tick(ms(t)).holding);
    }
    np.enabled = true;
    c.set_runtime(&runtime(&np));
    // Nothing received since enabling: the last state may be from before a reset (in sim time
    // a paused clock keeps it young), so it still holds.
    t += 10;
    assert!(c.tick(ms(t)).holding);
    t += 10;
    c.on_joint_state(&js(&moved), ms(t - 5));
    let t2 = c.tick(ms(t));
    assert!(!t2.holding && t2.new_plan && t2.resumed, "{t2:?}");
    for j in 0..2 {
        let d = (c.setpoint().positions[j] - moved[j]).abs();
        assert!(
            d <= 0.5 / 100.0 + 1e-12,
            "joint {j}: {d} from the measurement"
        );
    }
    let mut prev = c.setpoint().positions.clone();
    for _ in 0..20 {
        t += 10;
        c.on_joint_state(&js(&moved), ms(t - 5));
        assert!(c.tick(ms(t)).command);
        for j in 0..2 {
            assert!((c.setpoint().positions[j] - prev[j]).abs() <= 0.5 / 100.0 + 1e-12);
        }
        prev = c.setpoint().positions.clone();
    }
}

/// Braking is discrete: from rest toward a target beyond the box edge, the acceleration
/// limit holds (within 15 % on the tick of arrival) and the box edge is reached without a hard stop.
#[test]
fn braking_into_the_box_edge_keeps_the_acceleration_limit() {
    use ndp_ros::node::limits::{JointCommand, Limits};
    for amax in [1.0, 20.0] {
        let l = Limits {
            position_min: vec![-1.0],
            position_max: vec![1.0],
            velocity_max: vec![2.175],
            acceleration_max: vec![amax],
        };
        let dt = 0.01;
        let mut c = JointCommand::default();
        for i in 0..2000 {
            let (n, _) = l.step(
                0,
                c,
                JointCommand {
                    position: 5.0,
                    velocity: 0.0,
                },
                dt,
            );
            assert!(n.position <= 1.0, "tick {i}: {} beyond the box", n.position);
            assert!((n.position - c.position).abs() <= 2.175 * dt + 1e-12);
            let dv = (n.velocity - c.velocity).abs();
            // Discrete braking: within 15 % on the tick of arrival.
            assert!(
                dv <= amax * dt * 1.15 + 1e-9,
                "a = {amax}, tick {i}: dv {dv} > {}",
                amax * dt
            );
            c = n;
        }
        assert!(
            (c.position - 1.0).abs() < 1e-6 && c.velocity.abs() < 1e-6,
            "{c:?}"
        );
    }
}

/// A reported velocity never jumps past the acceleration limit, even when the position did
/// not need limiting.
#[test]
fn reported_velocities_keep_the_acceleration_limit() {
    use ndp_ros::node::limits::{JointCommand, Limits};
    let l = Limits {
        acceleration_max: vec![20.0],
        ..Limits::default()
    };
    let (n, _) = l.step(
        0,
        JointCommand::default(),
        JointCommand {
            position: 0.0,
            velocity: 2.0,
        },
        0.01,
    );
    assert!(n.velocity.abs() <= 0.2 + 1e-12, "{n:?}");
}

/// Wall time: an input stamped a little after the tick's nominal time is fresh, not a
/// clock jump.
#[test]
fn an_input_newer_than_the_tick_is_not_a_clock_jump_in_wall_time() {
    let mut c = Controller::new(params(&[]), Goal(vec![0.5, 0.5]), &dmp(), 28).unwrap();
    for i in 0..50 {
        c.on_joint_state(&js(&[0.0, 0.0]), Time::from_nanos(i * 10_000_000 + 300_000));
        assert!(
            !c.tick(Time::from_nanos(i * 10_000_000)).holding,
            "tick {i}"
        );
    }
    assert_eq!(c.rejects().count("clock_jumped_back"), 0);
}

/// In sim time, inputs from before a /clock reset stay stale even once the clock catches up
/// with their stamps; only inputs received after the reset resume.
#[test]
fn inputs_from_before_a_clock_reset_stay_stale() {
    let p = params(&[("use_sim_time", ParamValue::Bool(true))]);
    let mut c = Controller::new(p, Goal(vec![1.0, 1.0]), &dmp(), 28).unwrap();
    for i in 0..10 {
        c.on_joint_state(&js(&[0.0, 0.0]), ms(10_000 + i * 10));
        assert!(!c.tick(ms(10_000 + i * 10)).holding);
    }
    // Reset to 0 s; joint states stopped. At 10.05 s of the new clock the old stamp (10.09 s)
    // would look fresh again.
    assert!(c.tick(ms(0)).holding);
    for t in (10..10_100).step_by(10) {
        assert!(c.tick(ms(t)).holding, "at {t} ms");
    }
    c.on_joint_state(&js(&[0.0, 0.0]), ms(10_105));
    assert!(!c.tick(ms(10_110)).holding);
}

/// joint_trajectory output: a hold is a trajectory that brakes within the limits and ends
/// at rest (Jazzy's joint_trajectory_controller refuses a moving last point).
#[test]
fn a_hold_is_a_braking_trajectory_that_ends_at_rest() {
    let amax = 5.0;
    let p = params(&[
        ("acceleration_max", ParamValue::DoubleArray(vec![amax; 2])),
        ("input_timeout_s", ParamValue::Double(0.05)),
    ]);
    let mut c = Controller::new(p, Goal(vec![2.0, -2.0]), &dmp(), 28).unwrap();
    for i in 0..30 {
        c.on_joint_state(&js(&[0.0, 0.0]), ms(i * 10));
        c.tick(ms(i * 10 + 1));
    }
    let moving = c.setpoint().clone();
    assert!(
        moving.velocities.iter().any(|v| v.abs() > 0.01),
        "{moving:?}"
    );
    let mut t = 301;
    let mut before = moving;
    let hold = loop {
        t += 10;
        let k = c.tick(ms(t));
        if k.hold_started {
            break c.horizon().to_vec();
        }
        before = c.setpoint().clone();
    };
    let dt = c.horizon_spacing_s();
    let mut prev = before;
    for (i, pt) in hold.iter().enumerate() {
        for j in 0..2 {
            assert!(
                (pt.positions[j] - prev.positions[j]).abs() <= VMAX * dt + 1e-12,
                "point {i}"
            );
            assert!(
                (pt.velocities[j] - prev.velocities[j]).abs() <= amax * dt * 1.01 + 1e-9
                    || i == hold.len() - 1,
                "point {i}"
            );
        }
        prev = pt.clone();
    }
    assert!(hold.last().unwrap().velocities.iter().all(|v| *v == 0.0));
}

/// Run-time limits can change but not be switched off (a peer setting velocity_max: []).
#[test]
fn a_running_limit_cannot_be_switched_off() {
    let check = ndp_ros::node::params::validator(params(&[]).to_map());
    let e = check("velocity_max", &ParamValue::DoubleArray(vec![])).unwrap_err();
    assert!(e.contains("switched on or off"), "{e}");
}
