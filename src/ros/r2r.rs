//! The r2r backend (feature `r2r`): the node on rcl, for colcon workspaces on ROS machines.
//! rcl parses `--ros-args` and parameter files itself; the node reads them from r2r's
//! parameter table. Hot message types convert field by field; any other type (the package's
//! own `ndp_ros_msgs/msg/DmpPlan`) goes through r2r's untyped (JSON) path, which needs its
//! interface package built in the workspace.
//!
//! Threads: r2r's `Node` is not thread-safe, so one thread owns it: the spin thread, which runs
//! `spin_once` and, between spins, the jobs other threads send it (creating subscriptions and
//! publishers, at start-up). Nothing on the control loop's path waits for it: publishing goes
//! straight to rcl (`rcl_publish` is thread-safe), and `now()` reads the system clock, or in
//! sim time an atomic that the spin thread sets from /clock. Dropping the transport stops the
//! spin thread and joins it; the node is finalised on that thread, before the process exits
//! (a node left spinning while `exit` runs rcl's and Fast DDS's destructors aborted the
//! process: `malloc_consolidate(): unaligned fastbin chunk detected`).
//!
//! Built and tested against a real ROS 2 Jazzy (`scripts/setup_ros.sh`, `scripts/test_r2r.sh`);
//! `--features r2r,r2r/doc-only` type-checks it without one.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use futures::stream::{BoxStream, StreamExt};
use futures::FutureExt;
use r2r::builtin_interfaces::msg as r2r_builtin;
use r2r::geometry_msgs::msg as r2r_geo;
use r2r::rosgraph_msgs::msg as r2r_graph;
use r2r::sensor_msgs::msg as r2r_sensor;
use r2r::std_msgs::msg as r2r_std;
use r2r::trajectory_msgs::msg as r2r_traj;

use super::params::{ParamMap, ParamValue};
use super::qos::{Durability, Reliability};
use super::{Publisher, Qos, Transport};
use crate::error::{Error, Result};
use crate::msgs::*;

fn r2r_err(what: String, e: r2r::Error) -> Error {
    Error::invalid("r2r", format!("{what}: {e}"))
}

fn profile(q: Qos) -> r2r::QosProfile {
    let p = r2r::QosProfile::default().keep_last(q.depth.max(1));
    let p = match q.reliability {
        Reliability::Reliable => p.reliable(),
        Reliability::BestEffort => p.best_effort(),
    };
    match q.durability {
        Durability::Volatile => p.volatile(),
        Durability::TransientLocal => p.transient_local(),
    }
}

/// How long one `spin_once` waits for work: also the longest a job waits to run.
const SPIN_TIMEOUT: StdDuration = StdDuration::from_millis(2);

/// Work for the thread that owns the node.
type Job = Box<dyn FnOnce(&mut r2r::Node, &mut Vec<Task>) + Send>;

/// A future the spin thread polls after each spin (r2r's parameter services).
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A node on rcl, owned and spun by its own thread.
pub struct R2rTransport {
    jobs: Mutex<mpsc::Sender<Job>>,
    stop: Arc<AtomicBool>,
    /// Set once the node has a subscription: before that its wait set is empty, and rcl_wait
    /// would return at once (a busy loop) with an error that rcutils later reports as
    /// overwritten.
    waitable: Arc<AtomicBool>,
    spin: Option<JoinHandle<()>>,
    /// With use_sim_time: the latest /clock in nanoseconds (0 until the first, as rcl).
    sim_clock: Option<Arc<AtomicI64>>,
    params: ParamMap,
    name: String,
    /// Accepted parameter changes (after `declare`).
    changes: Mutex<Option<BoxStream<'static, (String, ParamValue)>>>,
}

/// The node's parameters as r2r's parameter services see them: `set_parameters` asks the
/// node's validator, so a refused change is answered unsuccessful with its reason (r2r's plain
/// handler would accept any name and value).
struct Validated(super::ParamValidator);

impl r2r::RosParams for Validated {
    fn register_parameters(
        &mut self,
        _prefix: &str,
        _param: Option<r2r::Parameter>,
        _params: &mut r2r::indexmap::IndexMap<String, r2r::Parameter>,
    ) -> r2r::Result<()> {
        Ok(()) // declared into the node's table by `declare`, with descriptions
    }
    fn get_parameter(&mut self, name: &str) -> r2r::Result<r2r::ParameterValue> {
        // The node's table holds every current value.
        Err(r2r::Error::InvalidParameterName { name: name.into() })
    }
    fn set_parameter(&mut self, name: &str, value: &r2r::ParameterValue) -> r2r::Result<()> {
        self.check_parameter(name, value)
    }
    fn check_parameter(&self, name: &str, value: &r2r::ParameterValue) -> r2r::Result<()> {
        let v = convert_param(value).ok_or_else(|| r2r::Error::ParameterValueConv {
            name: name.into(),
            msg: "not a value of a supported type".into(),
        })?;
        (self.0)(name, &v).map_err(|msg| r2r::Error::ParameterValueConv {
            name: name.into(),
            msg,
        })
    }
}

impl R2rTransport {
    /// Creates the node; rcl has already applied `--ros-args` (name, namespace, parameters).
    /// With the parameter `use_sim_time` true, `now()` follows /clock.
    pub fn new(name: &str, namespace: &str) -> Result<Self> {
        let ctx = unpanic("--ros-args", r2r::Context::create)?
            .map_err(|e| r2r_err("creating the rcl context".into(), e))?;
        let mut node = unpanic("r2r", || r2r::Node::create(ctx, name, namespace))?
            .map_err(|e| r2r_err(format!("creating node {namespace}/{name}"), e))?;
        let params: ParamMap = node
            .params
            .lock()
            .map_err(|_| Error::invalid("r2r", "parameter table poisoned"))?
            .iter()
            .filter_map(|(k, p)| Some((k.clone(), convert_param(&p.value)?)))
            .collect();
        let name = node
            .fully_qualified_name()
            .unwrap_or_else(|_| name.to_string());
        let sim = matches!(params.get("use_sim_time"), Some(ParamValue::Bool(true)));
        let clock = if sim {
            // rclcpp's clock QoS: best effort, keep last 1 (matches reliable publishers too).
            let q = r2r::QosProfile::default().keep_last(1).best_effort();
            let s = node
                .subscribe::<r2r_graph::Clock>("/clock", q)
                .map_err(|e| r2r_err("subscribing to /clock".into(), e))?;
            Some((s, Arc::new(AtomicI64::new(0))))
        } else {
            None
        };
        let sim_clock = clock.as_ref().map(|(_, t)| t.clone());
        let (tx, rx) = mpsc::channel::<Job>();
        let stop = Arc::new(AtomicBool::new(false));
        let waitable = Arc::new(AtomicBool::new(clock.is_some()));
        let (stopped, ready) = (stop.clone(), waitable.clone());
        let spin = std::thread::Builder::new()
            .name("r2r-spin".into())
            .spawn(move || spin(node, rx, stopped, ready, clock))
            .map_err(|e| Error::io("r2r spin thread", e))?;
        if sim {
            tracing::info!("{name}: use_sim_time: ROS time follows /clock");
        }
        Ok(R2rTransport {
            jobs: Mutex::new(tx),
            stop,
            waitable,
            spin: Some(spin),
            sim_clock,
            params,
            name,
            changes: Mutex::new(None),
        })
    }

    /// Offers the standard parameter services (list, get, set, describe, get types, set
    /// atomically) for `declared`: every parameter with its current value and description;
    /// changes `declared.validate` accepts arrive on `parameter_changes()`, refused ones are
    /// answered unsuccessful with the reason.
    pub fn declare(&self, declared: super::DeclaredParams) -> Result<()> {
        let super::DeclaredParams {
            values,
            validate,
            descriptions,
        } = declared;
        let stream = self.with_node_tasks(move |node, tasks| {
            {
                let mut table = node.params.lock().unwrap_or_else(|e| e.into_inner());
                for (k, v) in &values {
                    // r2r keeps descriptions as &'static str: one leak per parameter, once.
                    let text = descriptions.get(k).cloned().unwrap_or_default();
                    let description: &'static str = Box::leak(text.into_boxed_str());
                    table.insert(
                        k.clone(),
                        r2r::Parameter {
                            value: to_r2r(v),
                            description,
                        },
                    );
                }
            }
            let ps: Arc<Mutex<dyn r2r::RosParams + Send>> =
                Arc::new(Mutex::new(Validated(validate)));
            let (handler, events) = node
                .make_derived_parameter_handler(ps)
                .map_err(|e| r2r_err("creating the parameter services".into(), e))?;
            tasks.push(Box::pin(handler));
            Ok::<_, Error>(
                events
                    .filter_map(|(k, v)| futures::future::ready(convert_param(&v).map(|v| (k, v))))
                    .boxed(),
            )
        })??;
        *self
            .changes
            .lock()
            .map_err(|_| Error::invalid("r2r", "parameter stream poisoned"))? = Some(stream);
        // Services make the wait set non-empty.
        self.waitable.store(true, Ordering::Release);
        Ok(())
    }

    /// Runs `f` on the node's thread and returns its result.
    fn with_node<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut r2r::Node) -> R + Send + 'static,
    ) -> Result<R> {
        self.with_node_tasks(move |node, _| f(node))
    }

    /// As `with_node`, and `f` may hand the spin thread futures to poll.
    fn with_node_tasks<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut r2r::Node, &mut Vec<Task>) -> R + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |node, tasks| {
            let _ = tx.send(f(node, tasks));
        });
        let gone = || Error::invalid("r2r", "the node's spin thread has stopped");
        self.jobs
            .lock()
            .map_err(|_| gone())?
            .send(job)
            .map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())
    }
}

/// r2r panics where rcl fails in some places (`Context::create` on `--ros-args` that rcl cannot
/// parse: a bad remap, a missing parameter file): an error instead, with rcl's message, so that
/// the process exits 1 like on any other start-up error. Only while the main thread is alone.
fn unpanic<R>(key: &str, f: impl FnOnce() -> R) -> Result<R> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "rcl failed".into());
        Error::invalid(key, msg)
    })
}

/// The spin thread: owns the node until `stop`, then finalises it here.
fn spin(
    mut node: r2r::Node,
    jobs: mpsc::Receiver<Job>,
    stop: Arc<AtomicBool>,
    waitable: Arc<AtomicBool>,
    mut clock: Option<(
        impl futures::Stream<Item = r2r_graph::Clock> + Unpin,
        Arc<AtomicI64>,
    )>,
) {
    let mut tasks: Vec<Task> = Vec::new();
    let mut cx = std::task::Context::from_waker(futures::task::noop_waker_ref());
    while !stop.load(Ordering::Acquire) {
        while let Ok(job) = jobs.try_recv() {
            job(&mut node, &mut tasks);
        }
        if waitable.load(Ordering::Acquire) {
            node.spin_once(SPIN_TIMEOUT);
        } else {
            std::thread::sleep(SPIN_TIMEOUT);
        }
        // Polled after every spin (which is what feeds their service streams): no waker needed.
        tasks.retain_mut(|t| t.as_mut().poll(&mut cx).is_pending());
        if let Some((s, latest)) = &mut clock {
            while let Some(Some(c)) = s.next().now_or_never() {
                let t = Time {
                    sec: c.clock.sec,
                    nanosec: c.clock.nanosec,
                };
                latest.store(t.nanos(), Ordering::Release);
            }
        }
    }
    // Jobs sent after the stop get no answer (their senders see the channel closed).
    drop(jobs);
    drop(node);
}

impl Drop for R2rTransport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.spin.take() {
            if h.join().is_err() {
                tracing::error!("r2r spin thread panicked");
            }
        }
    }
}

fn to_r2r(v: &ParamValue) -> r2r::ParameterValue {
    use r2r::ParameterValue as P;
    match v {
        ParamValue::Bool(b) => P::Bool(*b),
        ParamValue::Integer(i) => P::Integer(*i),
        ParamValue::Double(d) => P::Double(*d),
        ParamValue::String(s) => P::String(s.clone()),
        ParamValue::BoolArray(a) => P::BoolArray(a.clone()),
        ParamValue::IntegerArray(a) => P::IntegerArray(a.clone()),
        ParamValue::DoubleArray(a) => P::DoubleArray(a.clone()),
        ParamValue::StringArray(a) => P::StringArray(a.clone()),
    }
}

fn convert_param(v: &r2r::ParameterValue) -> Option<ParamValue> {
    use r2r::ParameterValue as P;
    Some(match v {
        P::Bool(b) => ParamValue::Bool(*b),
        P::Integer(i) => ParamValue::Integer(*i),
        P::Double(d) => ParamValue::Double(*d),
        P::String(s) => ParamValue::String(s.clone()),
        P::BoolArray(a) => ParamValue::BoolArray(a.clone()),
        P::IntegerArray(a) => ParamValue::IntegerArray(a.clone()),
        P::DoubleArray(a) => ParamValue::DoubleArray(a.clone()),
        P::StringArray(a) => ParamValue::StringArray(a.clone()),
        P::ByteArray(a) => ParamValue::IntegerArray(a.iter().map(|&b| b as i64).collect()),
        P::NotSet => return None,
    })
}

/// Moves a value whose type was checked by TypeId into the generic parameter.
fn cast<A: 'static, B: 'static>(a: A) -> B {
    *(Box::new(a) as Box<dyn Any>)
        .downcast::<B>()
        .unwrap_or_else(|_| unreachable!("TypeId checked"))
}

fn is<M: 'static, T: 'static>() -> bool {
    TypeId::of::<M>() == TypeId::of::<T>()
}

fn time_in(t: r2r_builtin::Time) -> Time {
    Time {
        sec: t.sec,
        nanosec: t.nanosec,
    }
}
fn time_out(t: Time) -> r2r_builtin::Time {
    r2r_builtin::Time {
        sec: t.sec,
        nanosec: t.nanosec,
    }
}
fn header_in(h: r2r_std::Header) -> Header {
    Header {
        stamp: time_in(h.stamp),
        frame_id: h.frame_id,
    }
}
fn header_out(h: &Header) -> r2r_std::Header {
    r2r_std::Header {
        stamp: time_out(h.stamp),
        frame_id: h.frame_id.clone(),
    }
}

fn joint_state_in(m: r2r_sensor::JointState) -> JointState {
    JointState {
        header: header_in(m.header),
        name: m.name,
        position: m.position,
        velocity: m.velocity,
        effort: m.effort,
    }
}

fn image_in(m: r2r_sensor::Image) -> Image {
    Image {
        header: header_in(m.header),
        height: m.height,
        width: m.width,
        encoding: m.encoding,
        is_bigendian: m.is_bigendian,
        step: m.step,
        data: m.data,
    }
}

fn pose_in(m: r2r_geo::PoseStamped) -> PoseStamped {
    let (p, q) = (m.pose.position, m.pose.orientation);
    PoseStamped {
        header: header_in(m.header),
        pose: Pose {
            position: Point {
                x: p.x,
                y: p.y,
                z: p.z,
            },
            orientation: Quaternion {
                x: q.x,
                y: q.y,
                z: q.z,
                w: q.w,
            },
        },
    }
}

fn pose_out(m: &PoseStamped) -> r2r_geo::PoseStamped {
    let (p, q) = (m.pose.position, m.pose.orientation);
    r2r_geo::PoseStamped {
        header: header_out(&m.header),
        pose: r2r_geo::Pose {
            position: r2r_geo::Point {
                x: p.x,
                y: p.y,
                z: p.z,
            },
            orientation: r2r_geo::Quaternion {
                x: q.x,
                y: q.y,
                z: q.z,
                w: q.w,
            },
        },
    }
}

fn trajectory_out(m: &JointTrajectory) -> r2r_traj::JointTrajectory {
    r2r_traj::JointTrajectory {
        header: header_out(&m.header),
        joint_names: m.joint_names.clone(),
        points: m
            .points
            .iter()
            .map(|p| r2r_traj::JointTrajectoryPoint {
                positions: p.positions.clone(),
                velocities: p.velocities.clone(),
                accelerations: p.accelerations.clone(),
                effort: p.effort.clone(),
                time_from_start: r2r_builtin::Duration {
                    sec: p.time_from_start.sec,
                    nanosec: p.time_from_start.nanosec,
                },
            })
            .collect(),
    }
}

fn array_out(m: &Float64MultiArray) -> r2r_std::Float64MultiArray {
    r2r_std::Float64MultiArray {
        layout: r2r_std::MultiArrayLayout {
            dim: m
                .layout
                .dim
                .iter()
                .map(|d| r2r_std::MultiArrayDimension {
                    label: d.label.clone(),
                    size: d.size,
                    stride: d.stride,
                })
                .collect(),
            data_offset: m.layout.data_offset,
        },
        data: m.data.clone(),
    }
}

/// r2r's publishers are Send but not Sync (they hold raw rcl pointers); `rcl_publish` may be
/// called from any thread. The mutex only serialises the callers of one publisher (the node's
/// publisher thread): the spin thread never takes it.
struct Shared<P>(Mutex<P>);
// SAFETY: rcl publishers are thread-safe for publishing; all access goes through the mutex.
unsafe impl<P> Send for Shared<P> {}
// SAFETY: as above.
unsafe impl<P> Sync for Shared<P> {}

/// A typed r2r publisher with the conversion from our message.
struct Typed<R: r2r::WrappedTypesupport + 'static, M> {
    inner: Shared<r2r::Publisher<R>>,
    convert: fn(&M) -> R,
    topic: String,
}

impl<R: r2r::WrappedTypesupport + 'static, M: RosMessage> Publisher<M> for Typed<R, M> {
    fn publish(&self, msg: &M) -> Result<()> {
        self.inner
            .0
            .lock()
            .map_err(|_| Error::invalid("r2r", "publisher lock poisoned"))?
            .publish(&(self.convert)(msg))
            .map_err(|e| r2r_err(format!("publishing on {}", self.topic), e))
    }

    fn matched(&self) -> Option<usize> {
        let p = self.inner.0.lock().ok()?;
        p.get_inter_process_subscription_count().ok()
    }
}

/// Any other type, through r2r's untyped JSON path.
struct Untyped {
    inner: Shared<r2r::PublisherUntyped>,
    topic: String,
}

impl<M: RosMessage> Publisher<M> for Untyped {
    fn publish(&self, msg: &M) -> Result<()> {
        let v = serde_json::to_value(msg).map_err(|e| Error::invalid("r2r", e.to_string()))?;
        self.inner
            .0
            .lock()
            .map_err(|_| Error::invalid("r2r", "publisher lock poisoned"))?
            .publish(v)
            .map_err(|e| r2r_err(format!("publishing on {}", self.topic), e))
    }

    fn matched(&self) -> Option<usize> {
        let p = self.inner.0.lock().ok()?;
        p.get_inter_process_subscription_count().ok()
    }
}

/// A typed subscription on the node's thread, converted to our message type.
fn typed_stream<R, M>(
    node: &mut r2r::Node,
    topic: &str,
    q: r2r::QosProfile,
    convert: fn(R) -> M,
) -> std::result::Result<BoxStream<'static, M>, r2r::Error>
where
    R: r2r::WrappedTypesupport + Send + 'static,
    M: Send + 'static,
{
    Ok(node.subscribe::<R>(topic, q)?.map(convert).boxed())
}

/// A typed publisher on the node's thread.
fn typed_publisher<R, M>(
    node: &mut r2r::Node,
    topic: &str,
    q: r2r::QosProfile,
    convert: fn(&M) -> R,
) -> std::result::Result<Box<dyn Publisher<M>>, r2r::Error>
where
    R: r2r::WrappedTypesupport + 'static,
    M: RosMessage,
{
    let inner = node.create_publisher::<R>(topic, q)?;
    Ok(Box::new(Typed {
        inner: Shared(Mutex::new(inner)),
        convert,
        topic: topic.to_string(),
    }))
}

impl Transport for R2rTransport {
    fn subscribe<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<BoxStream<'static, M>> {
        let q = profile(qos);
        let t = topic.to_string();
        let made = self.with_node(move |node| {
            if is::<M, JointState>() {
                return typed_stream(node, &t, q, |m| cast::<JointState, M>(joint_state_in(m)));
            }
            if is::<M, Image>() {
                return typed_stream(node, &t, q, |m| cast::<Image, M>(image_in(m)));
            }
            if is::<M, PoseStamped>() {
                return typed_stream(node, &t, q, |m| cast::<PoseStamped, M>(pose_in(m)));
            }
            let s = node.subscribe_untyped(&t, &M::ros_type(), q)?;
            Ok(s.filter_map(move |r| {
                let parsed = r
                    .map_err(|e| e.to_string())
                    .and_then(|v| serde_json::from_value::<M>(v).map_err(|e| e.to_string()));
                if let Err(e) = &parsed {
                    tracing::warn!("{t}: dropped a {} sample: {e}", M::ros_type());
                }
                futures::future::ready(parsed.ok())
            })
            .boxed())
        })?;
        let s =
            made.map_err(|e| r2r_err(format!("subscribing to {topic} ({})", M::ros_type()), e))?;
        self.waitable.store(true, Ordering::Release);
        Ok(s)
    }

    fn publisher<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<Box<dyn Publisher<M>>> {
        let q = profile(qos);
        let t = topic.to_string();
        fn via<A: 'static, B: 'static, R>(f: fn(&B) -> R) -> impl Fn(&A) -> R {
            move |a: &A| f((a as &dyn Any).downcast_ref::<B>().expect("TypeId checked"))
        }
        let made = self.with_node(move |node| {
            if is::<M, JointTrajectory>() {
                let convert: fn(&M) -> r2r_traj::JointTrajectory =
                    |m| via::<M, JointTrajectory, _>(trajectory_out)(m);
                return typed_publisher(node, &t, q, convert);
            }
            if is::<M, Float64MultiArray>() {
                let convert: fn(&M) -> r2r_std::Float64MultiArray =
                    |m| via::<M, Float64MultiArray, _>(array_out)(m);
                return typed_publisher(node, &t, q, convert);
            }
            if is::<M, PoseStamped>() {
                let convert: fn(&M) -> r2r_geo::PoseStamped =
                    |m| via::<M, PoseStamped, _>(pose_out)(m);
                return typed_publisher(node, &t, q, convert);
            }
            let inner = node.create_publisher_untyped(&t, &M::ros_type(), q)?;
            Ok(Box::new(Untyped {
                inner: Shared(Mutex::new(inner)),
                topic: t,
            }) as Box<dyn Publisher<M>>)
        })?;
        made.map_err(|e| r2r_err(format!("publishing on {topic} ({})", M::ros_type()), e))
    }

    /// No lock: the system clock (what rcl's ROS clock reads without sim time), or the latest
    /// /clock that the spin thread stored.
    fn now(&self) -> Time {
        if let Some(sim) = &self.sim_clock {
            return Time::from_nanos(sim.load(Ordering::Acquire));
        }
        Time::wall_now()
    }

    fn parameters(&self) -> &ParamMap {
        &self.params
    }

    fn node_name(&self) -> &str {
        &self.name
    }

    fn parameter_changes(&self) -> Option<BoxStream<'static, (String, ParamValue)>> {
        self.changes.lock().ok()?.take()
    }

    /// The node's log lines on /rosout as rcl_interfaces/msg/Log, through a publisher of our
    /// own with rcl's rosout QoS (reliable, transient local, keep last 1000). Not through
    /// rcutils_log: that would also print every line to the console a second time.
    fn log_sink(&self) -> Option<super::rosout::LogSink> {
        let q = r2r::QosProfile::default()
            .keep_last(1000)
            .reliable()
            .transient_local();
        let made = self.with_node(move |node| {
            node.create_publisher::<r2r::rcl_interfaces::msg::Log>("/rosout", q)
        });
        let publisher = match made {
            Ok(Ok(p)) => Shared(Mutex::new(p)),
            Ok(Err(e)) => {
                tracing::warn!("no /rosout: {e}");
                return None;
            }
            Err(_) => return None,
        };
        let logger = self.name.trim_start_matches('/').replace('/', ".");
        Some(Arc::new(
            move |level: u8, _target: &str, msg: &str, file: &str, line: u32| {
                let now = Time::wall_now();
                let m = r2r::rcl_interfaces::msg::Log {
                    stamp: r2r_builtin::Time {
                        sec: now.sec,
                        nanosec: now.nanosec,
                    },
                    level,
                    name: logger.clone(),
                    msg: msg.to_string(),
                    file: file.to_string(),
                    function: String::new(),
                    line,
                };
                if let Ok(p) = publisher.0.lock() {
                    let _ = p.publish(&m);
                }
            },
        ))
    }
}
