//! The r2r backend (feature `r2r`): the node on rcl, for colcon workspaces on ROS machines.
//! rcl parses `--ros-args` and parameter files itself; the node reads them from r2r's
//! parameter table. Hot message types convert field by field; any other type (the package's
//! own `ndp_ros_msgs/msg/DmpPlan`) goes through r2r's untyped (JSON) path, which needs its
//! interface package built in the workspace.
//!
//! Only type-checked here (`--features r2r,r2r/doc-only`): this machine has no ROS to link.

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use futures::stream::{BoxStream, StreamExt};
use r2r::builtin_interfaces::msg as r2r_builtin;
use r2r::geometry_msgs::msg as r2r_geo;
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

/// A node on rcl, spun by its own thread.
pub struct R2rTransport {
    node: Arc<Mutex<r2r::Node>>,
    params: ParamMap,
    name: String,
}

impl R2rTransport {
    /// Creates the node; rcl has already applied `--ros-args` (name, namespace, parameters).
    pub fn new(name: &str, namespace: &str) -> Result<Self> {
        let ctx =
            r2r::Context::create().map_err(|e| r2r_err("creating the rcl context".into(), e))?;
        let node = r2r::Node::create(ctx, name, namespace)
            .map_err(|e| r2r_err(format!("creating node {namespace}/{name}"), e))?;
        let params = node
            .params
            .lock()
            .expect("r2r params lock")
            .iter()
            .filter_map(|(k, p)| Some((k.clone(), convert_param(&p.value)?)))
            .collect();
        let name = node
            .fully_qualified_name()
            .unwrap_or_else(|_| name.to_string());
        let node = Arc::new(Mutex::new(node));
        let spun = node.clone();
        std::thread::Builder::new()
            .name("r2r-spin".into())
            .spawn(move || loop {
                spun.lock()
                    .expect("r2r node lock")
                    .spin_once(StdDuration::from_millis(2));
            })
            .map_err(|e| Error::io("r2r spin thread", e))?;
        Ok(R2rTransport { node, params, name })
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

/// r2r's publishers are not Send/Sync (they hold raw rcl pointers), but rcl_publish may be
/// called from any thread; the mutex serialises our calls.
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
            .expect("publisher lock")
            .publish(&(self.convert)(msg))
            .map_err(|e| r2r_err(format!("publishing on {}", self.topic), e))
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
            .expect("publisher lock")
            .publish(v)
            .map_err(|e| r2r_err(format!("publishing on {}", self.topic), e))
    }
}

impl Transport for R2rTransport {
    fn subscribe<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<BoxStream<'static, M>> {
        let mut node = self.node.lock().expect("r2r node lock");
        let q = profile(qos);
        let err = |e| r2r_err(format!("subscribing to {topic} ({})", M::ros_type()), e);
        if is::<M, JointState>() {
            let s = node
                .subscribe::<r2r_sensor::JointState>(topic, q)
                .map_err(err)?;
            return Ok(s.map(|m| cast::<JointState, M>(joint_state_in(m))).boxed());
        }
        if is::<M, Image>() {
            let s = node.subscribe::<r2r_sensor::Image>(topic, q).map_err(err)?;
            return Ok(s.map(|m| cast::<Image, M>(image_in(m))).boxed());
        }
        if is::<M, PoseStamped>() {
            let s = node
                .subscribe::<r2r_geo::PoseStamped>(topic, q)
                .map_err(err)?;
            return Ok(s.map(|m| cast::<PoseStamped, M>(pose_in(m))).boxed());
        }
        let s = node
            .subscribe_untyped(topic, &M::ros_type(), q)
            .map_err(err)?;
        let topic = topic.to_string();
        Ok(s.filter_map(move |r| {
            let parsed = r
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::from_value::<M>(v).map_err(|e| e.to_string()));
            if let Err(e) = &parsed {
                tracing::warn!("{topic}: dropped a {} sample: {e}", M::ros_type());
            }
            futures::future::ready(parsed.ok())
        })
        .boxed())
    }

    fn publisher<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<Box<dyn Publisher<M>>> {
        let mut node = self.node.lock().expect("r2r node lock");
        let q = profile(qos);
        let err = |e| r2r_err(format!("publishing on {topic} ({})", M::ros_type()), e);
        let t = topic.to_string();
        fn via<A: 'static, B: 'static, R>(f: fn(&B) -> R) -> impl Fn(&A) -> R {
            move |a: &A| f((a as &dyn Any).downcast_ref::<B>().expect("TypeId checked"))
        }
        if is::<M, JointTrajectory>() {
            let inner = node
                .create_publisher::<r2r_traj::JointTrajectory>(topic, q)
                .map_err(err)?;
            let convert: fn(&M) -> r2r_traj::JointTrajectory =
                |m| via::<M, JointTrajectory, _>(trajectory_out)(m);
            return Ok(Box::new(Typed {
                inner: Shared(Mutex::new(inner)),
                convert,
                topic: t,
            }));
        }
        if is::<M, Float64MultiArray>() {
            let inner = node
                .create_publisher::<r2r_std::Float64MultiArray>(topic, q)
                .map_err(err)?;
            let convert: fn(&M) -> r2r_std::Float64MultiArray =
                |m| via::<M, Float64MultiArray, _>(array_out)(m);
            return Ok(Box::new(Typed {
                inner: Shared(Mutex::new(inner)),
                convert,
                topic: t,
            }));
        }
        if is::<M, PoseStamped>() {
            let inner = node
                .create_publisher::<r2r_geo::PoseStamped>(topic, q)
                .map_err(err)?;
            let convert: fn(&M) -> r2r_geo::PoseStamped = |m| via::<M, PoseStamped, _>(pose_out)(m);
            return Ok(Box::new(Typed {
                inner: Shared(Mutex::new(inner)),
                convert,
                topic: t,
            }));
        }
        let inner = node
            .create_publisher_untyped(topic, &M::ros_type(), q)
            .map_err(err)?;
        Ok(Box::new(Untyped {
            inner: Shared(Mutex::new(inner)),
            topic: t,
        }))
    }

    fn now(&self) -> Time {
        let node = self.node.lock().expect("r2r node lock");
        let clock = node.get_ros_clock();
        let now = clock
            .lock()
            .expect("clock lock")
            .get_now()
            .unwrap_or_default();
        Time::from_nanos(now.as_nanos() as i64)
    }

    fn parameters(&self) -> &ParamMap {
        &self.params
    }

    fn node_name(&self) -> &str {
        &self.name
    }
}
