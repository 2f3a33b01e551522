//! The node over a transport, as four threads:
//! - inputs: the subscriptions; each message is checked and stored in its latest-value slot
//!   with a receipt stamp on the node clock (monotonic, or /clock in sim time);
//! - planner: on the executor's request (every replan period, at a tick), a snapshot of the
//!   inputs -> image preprocessing -> the network -> a plan stamped with that tick, handed
//!   over through a triple buffer (and the DmpPlan published);
//! - executor (the caller's thread, deadline-scheduled at rate_hz): takes the newest plan,
//!   samples it, clamps, keeps the watchdog, and fills a preallocated outgoing slot. It
//!   allocates, logs and waits on nothing;
//! - publisher: woken by the executor, turns the newest outgoing slot into messages, publishes
//!   them, and logs what the executor noted.
//!
//! All stop together: on `stop` the executor ends, the planner and input threads are joined,
//! and the publisher sends one final hold at rest.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use futures::stream::{select_all, StreamExt};
use hdrhistogram::Histogram;
use triple_buffer::triple_buffer;

use super::controller::{executor, plan_message, runtime, Controller};
use super::executor::{HoldWhy, Setpoint, Tick};
use super::inputs::{Freshness, Inputs};
use super::params::{NodeParams, ObservationMode, OutputMode};
use super::plan::Plan;
use super::plan_maker::{PlanMaker, Planner};
use crate::dmp::DmpConfig;
use crate::error::{Error, Result};
use crate::msgs::{
    DmpPlan, Duration, Float64MultiArray, Header, Image, JointState, JointTrajectory,
    JointTrajectoryPoint, MultiArrayDimension, MultiArrayLayout, Point, Pose, PoseStamped,
    Quaternion, Time,
};
use crate::ros::names::NameResolver;
use crate::ros::{Publisher, Transport};

/// Loop statistics, in fixed-size histograms (nanoseconds): nothing grows per tick.
#[derive(Clone, Debug)]
pub struct RunStats {
    pub ticks: u64,
    pub missed_ticks: u64,
    pub published: u64,
    pub plans: u64,
    /// Start of every tick after its deadline.
    pub lateness_ns: Histogram<u64>,
    /// The executor's work per tick (plan swap, sampling, limits, outgoing slot).
    pub compute_ns: Histogram<u64>,
    /// Input snapshot to plan handed over (preprocessing and the network included).
    pub planning_ns: Histogram<u64>,
    /// Refusals per cause.
    pub rejects: Vec<(&'static str, u64)>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

impl Default for RunStats {
    fn default() -> Self {
        RunStats {
            ticks: 0,
            missed_ticks: 0,
            published: 0,
            plans: 0,
            lateness_ns: histogram(),
            compute_ns: histogram(),
            planning_ns: histogram(),
            rejects: Vec::new(),
        }
    }
}

/// The node's clock: monotonic in wall-time mode (an NTP step cannot trip or blind the
/// watchdog), /clock in sim time. 0 in sim time means no /clock yet.
pub struct NodeClock<T> {
    transport: Arc<T>,
    sim: bool,
    epoch: Instant,
}

impl<T: Transport> NodeClock<T> {
    pub fn new(transport: Arc<T>, sim: bool) -> Self {
        NodeClock {
            transport,
            sim,
            epoch: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> i64 {
        if self.sim {
            self.transport.now().nanos()
        } else {
            // Starts at 1 s so that 0 never reads as "no clock".
            1_000_000_000 + self.epoch.elapsed().as_nanos() as i64
        }
    }

    /// Node time of a wall-clock instant: the instant's own time in wall-time mode (so ticks
    /// sample plans at their nominal times, free of wake-up jitter), now in sim time.
    pub fn at(&self, t: Instant) -> i64 {
        if self.sim {
            self.now_ns()
        } else {
            1_000_000_000 + t.saturating_duration_since(self.epoch).as_nanos() as i64
        }
    }

    /// Sim time with no /clock received yet.
    pub fn waiting(&self) -> bool {
        self.sim && self.now_ns() == 0
    }
}

/// The executor's outgoing slot: the newest setpoint and counters of events, so that the
/// publisher, reading only the newest slot, misses no hold.
#[derive(Clone, Debug, Default)]
struct Outgoing {
    tick: u64,
    setpoint: Setpoint,
    holding: bool,
    /// Tick of the newest hold start, and why.
    hold_tick: u64,
    hold_why: Option<HoldWhy>,
    resume_tick: u64,
    final_hold: bool,
}

/// The executor's newest trajectory horizon, written on new plans only.
#[derive(Clone, Debug, Default)]
struct Horizon {
    tick: u64,
    points: Vec<Setpoint>,
    spacing_s: f64,
}

/// The publishers of the configured output mode.
enum Out {
    Trajectory(Box<dyn Publisher<JointTrajectory>>),
    Array(Box<dyn Publisher<Float64MultiArray>>),
    Pose(Box<dyn Publisher<PoseStamped>>),
}

impl Out {
    fn matched(&self) -> Option<usize> {
        match self {
            Out::Trajectory(p) => p.matched(),
            Out::Array(p) => p.matched(),
            Out::Pose(p) => p.matched(),
        }
    }
}

/// Runs until `stop` is set (or `max_ticks`); then publishes a final hold (if anything was
/// commanded) and returns when every thread it started has ended.
pub fn run<T: Transport, P: Planner + Send + 'static>(
    transport: Arc<T>,
    names: &NameResolver,
    ctl: Controller<P>,
    stop: Arc<AtomicBool>,
    max_ticks: Option<u64>,
) -> Result<RunStats> {
    let (p, maker, dmp) = ctl.into_parts();
    let inputs = Arc::new(Inputs::new(&p));
    let clock = Arc::new(NodeClock::new(transport.clone(), p.use_sim_time));
    let (rt_in, mut rt_out) = triple_buffer(&runtime(&p));
    let input_thread = spawn_inputs(&transport, names, &p, &inputs, &clock, rt_in)?;
    let cmd_topic = names.resolve(&p.command_topic);
    let out = match p.output {
        OutputMode::JointTrajectory => {
            Out::Trajectory(transport.publisher(&cmd_topic, p.command_qos)?)
        }
        OutputMode::Float64Array => Out::Array(transport.publisher(&cmd_topic, p.command_qos)?),
        OutputMode::Pose => Out::Pose(transport.publisher(&cmd_topic, p.command_qos)?),
    };
    let plan_pub: Option<Box<dyn Publisher<DmpPlan>>> = if p.publish_plan {
        Some(transport.publisher(&names.resolve(&p.plan_topic), crate::ros::Qos::DEFAULT)?)
    } else {
        None
    };
    tracing::info!(
        "{}: {:?} -> {:?} on {cmd_topic} at {} Hz; plans of {:.3} s, a policy call every {:.3} s, trajectories of {:.3} s",
        transport.node_name(),
        p.observation,
        p.output,
        p.rate_hz,
        p.plan_duration_s,
        p.replan_period_s,
        p.horizon_s,
    );
    let halt = Arc::new(AtomicBool::new(false));
    // A plan request: the tick time (node clock) the planner stamps the plan with; 0: none.
    let request = Arc::new(AtomicI64::new(0));
    let published = Arc::new(AtomicU64::new(0));
    let (plan_in, mut plan_out) = triple_buffer(&Plan::default());
    let mut exec = executor(&p);
    let d = p.joint_names.len();
    let (mut out_in, out_out) = triple_buffer(&Outgoing {
        setpoint: Setpoint::zeros(d),
        ..Outgoing::default()
    });
    let (mut hz_in, hz_out) = triple_buffer(&Horizon {
        points: vec![Setpoint::zeros(d); exec.horizon().len()],
        ..Horizon::default()
    });
    let planner = spawn_planner(PlannerCtx {
        maker,
        dmp,
        params: p.clone(),
        inputs: inputs.clone(),
        transport: transport.clone(),
        plan_in,
        plan_pub,
        halt: halt.clone(),
        request: request.clone(),
    })?;
    let publisher = spawn_publisher(
        (out, cmd_topic.clone()),
        p.clone(),
        transport.clone(),
        out_out,
        hz_out,
        published.clone(),
        halt.clone(),
    )?;
    if let Some(cpu) = p.executor_cpu {
        match super::ticker::isolate_on(cpu) {
            Ok(()) => tracing::info!("executor thread: alone on CPU {cpu}"),
            Err(e) => tracing::warn!("parameter executor_cpu {cpu}: not pinned ({e})"),
        }
    }
    if p.realtime_priority > 0 {
        match super::ticker::realtime(p.realtime_priority as i32) {
            Ok(()) => tracing::info!("executor thread: SCHED_FIFO priority {}", p.realtime_priority),
            Err(e) => tracing::warn!(
                "parameter realtime_priority {}: SCHED_FIFO refused ({e}); running with normal scheduling (grant CAP_SYS_NICE or an rtprio limit)",
                p.realtime_priority
            ),
        }
    }
    let period = StdDuration::from_secs_f64(1.0 / p.rate_hz);
    let mut stats = RunStats::default();
    let mut ticker = super::ticker::Ticker::new(period);
    let mut hold_tick = 0;
    let mut hold_why = None;
    let mut resume_tick = 0;
    let mut logged_waiting = false;
    let mut last_request: Option<i64> = None;
    let replan_ns = (p.replan_period_s * 1e9) as i64;
    let half_tick = (0.5e9 / p.rate_hz) as i64;
    // While holding on stale inputs that are fresh again, ask again this often.
    let retry_ns = replan_ns.min((10e9 / p.rate_hz) as i64);
    let mut planner_died = false;
    while !stop.load(Ordering::SeqCst) && max_ticks.is_none_or(|m| stats.ticks < m) {
        if planner.is_finished() {
            // The planner ended on its own (a panic): stop, with the final hold.
            planner_died = true;
            break;
        }
        let started = Instant::now();
        stats.ticks += 1;
        // The tick's nominal time (its deadline), not the jittered wake-up.
        let now = clock.at(ticker.tick_start());
        if clock.waiting() {
            if !logged_waiting {
                tracing::warn!("use_sim_time is set and no /clock has arrived: publishing nothing until it does");
                logged_waiting = true;
            }
        } else {
            if rt_out.update() {
                exec.set_runtime(rt_out.output_buffer());
            }
            plan_out.update();
            let tick = exec.tick(
                now,
                inputs.stamps(),
                plan_out.output_buffer(),
                &inputs.rejects,
            );
            // Plans are requested at tick boundaries: the plan's time 0 is this tick, so the
            // executor's re-anchoring skips exactly the whole ticks the planning took.
            let fresh = exec.freshness(now, inputs.stamps()) == Freshness::Fresh;
            let since = last_request.map(|t| now - t);
            let due = match since {
                None => true,
                Some(d) if d < 0 => true,
                Some(d) => d >= replan_ns - half_tick || (exec.awaiting_plan() && d >= retry_ns),
            };
            if fresh && due {
                request.store(now, Ordering::Release);
                last_request = Some(now);
                planner.thread().unpark();
            }
            if tick.command {
                hand_over(
                    &tick,
                    stats.ticks,
                    &exec,
                    &mut out_in,
                    &mut hz_in,
                    (&mut hold_tick, &mut hold_why, &mut resume_tick),
                );
                publisher.thread().unpark();
            }
        }
        stats
            .compute_ns
            .saturating_record(started.elapsed().as_nanos() as u64);
        // Deadline scheduling: sleep most of the way, spin the rest.
        let wake = ticker.wait();
        stats.missed_ticks += wake.skipped;
        stats
            .lateness_ns
            .saturating_record(wake.lateness.as_nanos() as u64);
    }
    // Final hold: the last command at rest, so the robot stops where it is (as a braking
    // trajectory for joint_trajectory_controller).
    if exec.commanded() {
        exec.final_hold();
        let h = hz_in.input_buffer_mut();
        h.tick = stats.ticks + 1;
        h.spacing_s = exec.horizon_spec().spacing_s;
        for (dst, src) in h.points.iter_mut().zip(exec.horizon()) {
            dst.clone_from(src);
        }
        hz_in.publish();
        let o = out_in.input_buffer_mut();
        o.tick = stats.ticks + 1;
        o.setpoint.clone_from(exec.setpoint());
        o.setpoint.velocities.fill(0.0);
        o.final_hold = true;
        out_in.publish();
    }
    halt.store(true, Ordering::SeqCst);
    publisher.thread().unpark();
    // Every thread ends before anything is reported (the final hold goes out first).
    let planned = planner.join();
    input_thread.stop();
    publisher
        .join()
        .map_err(|_| Error::invalid("node", "the publisher thread panicked"))?;
    let Ok((plans, planning)) = planned else {
        return Err(Error::invalid(
            "node",
            "the planner thread panicked: final hold published, exiting",
        ));
    };
    if planner_died {
        return Err(Error::invalid(
            "node",
            "the planner thread stopped unexpectedly: final hold published, exiting",
        ));
    }
    stats.plans = plans;
    stats.planning_ns = planning;
    stats.published = published.load(Ordering::SeqCst);
    stats.rejects = inputs.rejects.counts();
    Ok(stats)
}

/// Copies what the tick produced into the outgoing slots (no allocation: same sizes).
fn hand_over(
    tick: &Tick,
    n: u64,
    exec: &super::executor::Executor,
    out_in: &mut triple_buffer::Input<Outgoing>,
    hz_in: &mut triple_buffer::Input<Horizon>,
    events: (&mut u64, &mut Option<HoldWhy>, &mut u64),
) {
    if tick.hold_started {
        *events.0 = n;
        *events.1 = tick.why;
    }
    if tick.resumed {
        *events.2 = n;
    }
    if tick.new_plan || tick.hold_started {
        let h = hz_in.input_buffer_mut();
        h.tick = n;
        h.spacing_s = exec.horizon_spec().spacing_s;
        for (dst, src) in h.points.iter_mut().zip(exec.horizon()) {
            dst.clone_from(src);
        }
        hz_in.publish();
    }
    let o = out_in.input_buffer_mut();
    o.tick = n;
    o.setpoint.clone_from(exec.setpoint());
    o.holding = tick.holding;
    o.hold_tick = *events.0;
    o.hold_why = *events.1;
    o.resume_tick = *events.2;
    o.final_hold = false;
    out_in.publish();
}

/// The subscription thread; `stop` ends it (it owns the streams).
struct InputThread {
    stop: Option<futures::channel::oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl InputThread {
    fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

enum Input {
    Joints(JointState),
    Image(Image),
    Pose(PoseStamped),
    Vector(Float64MultiArray),
    Param(String, crate::ros::ParamValue),
}

fn spawn_inputs<T: Transport>(
    transport: &Arc<T>,
    names: &NameResolver,
    p: &NodeParams,
    inputs: &Arc<Inputs>,
    clock: &Arc<NodeClock<T>>,
    mut rt_in: triple_buffer::Input<super::executor::Runtime>,
) -> Result<InputThread> {
    let mut streams = Vec::new();
    if p.output == OutputMode::Pose {
        let s =
            transport.subscribe::<PoseStamped>(&names.resolve(&p.ee_pose_topic), p.state_qos)?;
        streams.push(s.map(Input::Pose).boxed());
    } else {
        let s =
            transport.subscribe::<JointState>(&names.resolve(&p.joint_state_topic), p.state_qos)?;
        streams.push(s.map(Input::Joints).boxed());
    }
    match p.observation {
        ObservationMode::Image | ObservationMode::Both => {
            let s = transport.subscribe::<Image>(&names.resolve(&p.image_topic), p.image_qos)?;
            streams.push(s.map(Input::Image).boxed());
        }
        ObservationMode::Vector => {
            let topic = names.resolve(&p.observation_topic);
            let s = transport.subscribe::<Float64MultiArray>(&topic, p.state_qos)?;
            streams.push(s.map(Input::Vector).boxed());
        }
        ObservationMode::State => {}
    }
    if let Some(s) = transport.parameter_changes() {
        streams.push(s.map(|(k, v)| Input::Param(k, v)).boxed());
    }
    let mut params = p.to_map();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let (inputs, clock) = (inputs.clone(), clock.clone());
    let handle = std::thread::Builder::new()
        .name("ndp-inputs".into())
        .spawn(move || {
            let each = select_all(streams).for_each(|m| {
                let now = clock.now_ns();
                match m {
                    Input::Joints(j) => inputs.on_joint_state(&j, now),
                    Input::Image(i) => inputs.on_image(i, now),
                    Input::Pose(q) => inputs.on_pose(&q, now),
                    Input::Vector(v) => inputs.on_vector(&v, now),
                    Input::Param(k, v) if params.get(&k) == Some(&v) => {}
                    Input::Param(k, v) => {
                        // Validated by the transport already; checked again as a whole.
                        let mut next = params.clone();
                        next.insert(k.clone(), v.clone());
                        match NodeParams::from_map(&next) {
                            Ok(np) => {
                                tracing::info!("parameter {k} set to {v}");
                                rt_in.write(runtime(&np));
                                params = next;
                            }
                            Err(e) => tracing::warn!("parameter {k}: {e}: change not applied"),
                        }
                    }
                }
                futures::future::ready(())
            });
            futures::executor::block_on(futures::future::select(Box::pin(each), rx));
        })
        .map_err(|e| Error::io("input thread", e))?;
    Ok(InputThread {
        stop: Some(tx),
        handle: Some(handle),
    })
}

struct PlannerCtx<T, P> {
    maker: PlanMaker<P>,
    dmp: DmpConfig,
    params: NodeParams,
    inputs: Arc<Inputs>,
    transport: Arc<T>,
    plan_in: triple_buffer::Input<Plan>,
    plan_pub: Option<Box<dyn Publisher<DmpPlan>>>,
    halt: Arc<AtomicBool>,
    request: Arc<AtomicI64>,
}

/// The planner thread: plans when the executor asks; returns the plans made and the
/// planning-latency histogram.
fn spawn_planner<T: Transport, P: Planner + Send + 'static>(
    mut c: PlannerCtx<T, P>,
) -> Result<JoinHandle<(u64, Histogram<u64>)>> {
    std::thread::Builder::new()
        .name("ndp-planner".into())
        .spawn(move || {
            let p = &c.params;
            let mut plans = 0;
            let mut latency = histogram();
            while !c.halt.load(Ordering::SeqCst) {
                let t0 = c.request.swap(0, Ordering::AcqRel);
                if t0 == 0 {
                    std::thread::park_timeout(StdDuration::from_millis(20));
                    continue;
                }
                let started = Instant::now();
                let buf = c.plan_in.input_buffer_mut();
                let made = match c.maker.make(&c.inputs, t0, buf) {
                    Ok(made) => made,
                    Err(r) => {
                        c.inputs.rejects.record(&r);
                        true
                    }
                };
                if made {
                    let msg = c
                        .plan_pub
                        .as_ref()
                        .map(|_| plan_message(p, &c.dmp, buf, c.transport.now()));
                    c.plan_in.publish();
                    latency.saturating_record(started.elapsed().as_nanos() as u64);
                    plans += 1;
                    if let (Some(pp), Some(m)) = (&c.plan_pub, msg) {
                        log_err(pp.publish(&m));
                    }
                }
            }
            (plans, latency)
        })
        .map_err(|e| Error::io("planner thread", e))
}

fn log_err(r: Result<()>) -> bool {
    match r {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e}");
            false
        }
    }
}

/// The publisher thread: publishes what the executor handed over, and its notes as logs.
/// The first argument: the command publisher and its resolved topic.
fn spawn_publisher<T: Transport>(
    (out, topic): (Out, String),
    p: NodeParams,
    transport: Arc<T>,
    mut slot: triple_buffer::Output<Outgoing>,
    mut horizon: triple_buffer::Output<Horizon>,
    published: Arc<AtomicU64>,
    halt: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ndp-publisher".into())
        .spawn(move || {
            let (mut last_tick, mut last_hold, mut last_resume) = (0, 0, 0);
            let mut last_plan = 0;
            // Built once (the joint-name label is fixed); each tick only its data changes.
            let mut array = float_array(&p, &Setpoint::zeros(p.joint_names.len()));
            let count = |ok: bool| {
                if ok {
                    published.fetch_add(1, Ordering::Relaxed);
                }
            };
            // Who receives the commands, as this publisher's side of DDS matching says: a
            // controller that is not (yet) listening is the usual reason a robot does not move,
            // and what a peer waits for before it counts on every command arriving.
            // Asked at most every 100 ms: the pass runs every tick, and the DDS backend answers
            // under the node's lock.
            let mut matched = Some(0);
            let mut asked: Option<Instant> = None;
            loop {
                let now_matched =
                    if asked.is_none_or(|t| t.elapsed() >= StdDuration::from_millis(100)) {
                        asked = Some(Instant::now());
                        out.matched()
                    } else {
                        matched
                    };
                if now_matched != matched {
                    match now_matched {
                        Some(0) => tracing::warn!(
                            "{topic}: no subscriber matched any more: commands reach nobody"
                        ),
                        Some(n) => tracing::info!("{topic}: {n} subscriber(s) matched"),
                        None => {}
                    }
                    matched = now_matched;
                }
                let halting = halt.load(Ordering::SeqCst);
                slot.update();
                let o = slot.output_buffer();
                if o.hold_tick > last_hold {
                    last_hold = o.hold_tick;
                    match o.hold_why {
                        Some(HoldWhy::Stale(f)) => {
                            tracing::warn!(
                                "inputs not fresh ({}): holding position",
                                describe(&p, f)
                            )
                        }
                        Some(HoldWhy::Disabled) => {
                            tracing::info!("parameter enabled is false: holding position")
                        }
                        _ => tracing::warn!("policy output refused: holding position"),
                    }
                }
                if o.resume_tick > last_resume {
                    last_resume = o.resume_tick;
                    tracing::info!("inputs fresh again: resuming the policy");
                }
                if o.tick > last_tick {
                    match &out {
                        Out::Trajectory(tp) => {
                            // Each new plan, each hold and the final hold is a trajectory.
                            horizon.update();
                            let h = horizon.output_buffer();
                            if h.tick > last_plan {
                                last_plan = h.tick;
                                count(log_err(tp.publish(&trajectory(&p, &h.points, h.spacing_s))));
                            }
                        }
                        Out::Array(ap) => {
                            array.data.clone_from(&o.setpoint.positions);
                            count(log_err(ap.publish(&array)))
                        }
                        Out::Pose(pp) => {
                            let now = transport.now();
                            count(log_err(pp.publish(&pose(&p, &o.setpoint, now))))
                        }
                    }
                    last_tick = o.tick;
                    if o.final_hold {
                        tracing::info!("stopped: final hold published");
                    }
                }
                if halting {
                    // The executor wrote its last slot before halting: one more pass above saw it.
                    if !slot.update() {
                        break;
                    }
                    continue;
                }
                std::thread::park_timeout(StdDuration::from_millis(20));
            }
        })
        .map_err(|e| Error::io("publisher thread", e))
}

fn describe(p: &NodeParams, f: Freshness) -> String {
    let topic = |i: usize| {
        if i == 0 {
            if p.output == OutputMode::Pose {
                &p.ee_pose_topic
            } else {
                &p.joint_state_topic
            }
        } else if p.observation == ObservationMode::Vector {
            &p.observation_topic
        } else {
            &p.image_topic
        }
    };
    match f {
        Freshness::Stale(i, age) => format!(
            "{} {age:.3} s old > input_timeout_s {}",
            topic(i),
            p.input_timeout_s
        ),
        Freshness::ClockJumpedBack(i) => {
            format!("the clock jumped back behind the last {} message", topic(i))
        }
        _ => "waiting".into(),
    }
}

/// header.stamp zero: joint_trajectory_controller starts it on receipt, replacing the rest of
/// the previous one; point i is due (i + 1) * spacing_s from now.
pub fn trajectory(p: &NodeParams, points: &[Setpoint], spacing_s: f64) -> JointTrajectory {
    JointTrajectory {
        header: Header {
            stamp: Time::default(),
            frame_id: p.frame_id.clone(),
        },
        joint_names: p.joint_names.clone(),
        points: points
            .iter()
            .enumerate()
            .map(|(i, sp)| JointTrajectoryPoint {
                positions: sp.positions.clone(),
                velocities: sp.velocities.clone(),
                accelerations: vec![],
                effort: vec![],
                time_from_start: Duration::from_secs_f64((i + 1) as f64 * spacing_s),
            })
            .collect(),
    }
}

/// One setpoint for a forward position controller; the controller fixes the joint order, the
/// dimension label records the order we used.
pub fn float_array(p: &NodeParams, sp: &Setpoint) -> Float64MultiArray {
    let n = sp.positions.len() as u32;
    Float64MultiArray {
        layout: MultiArrayLayout {
            dim: vec![MultiArrayDimension {
                label: p.joint_names.join(","),
                size: n,
                stride: 1,
            }],
            data_offset: 0,
        },
        data: sp.positions.clone(),
    }
}

pub fn pose(p: &NodeParams, sp: &Setpoint, now: Time) -> PoseStamped {
    let q = p.pose_orientation;
    PoseStamped {
        header: Header {
            stamp: now,
            frame_id: p.frame_id.clone(),
        },
        pose: Pose {
            position: Point {
                x: sp.positions[0],
                y: sp.positions[1],
                z: sp.positions[2],
            },
            orientation: Quaternion {
                x: q[0],
                y: q[1],
                z: q[2],
                w: q[3],
            },
        },
    }
}
