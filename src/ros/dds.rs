//! The embedded ROS 2 transport: ros2-client over RustDDS. Pure Rust, the real ROS 2 wire
//! protocol (RTPS, CDR, `rt/` topic names, `pkg::msg::dds_::Type_` type names), no ROS install.
//!
//! ros2-client reads neither ROS_DOMAIN_ID nor the localhost-only settings, so this module
//! does: ROS_DOMAIN_ID (0..=232), and ROS_LOCALHOST_ONLY=1 or
//! ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (or `DdsOptions::loopback_only`) to keep discovery
//! and traffic on 127.0.0.1.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use futures::stream::{self, BoxStream, StreamExt};
use ros2_client::dds::rustdds::DomainParticipantBuilder;
use ros2_client::{Context, MessageTypeName, Name, Node, NodeName, NodeOptions, QosProfile};

use super::{ParamMap, ParamValue, Publisher, Qos, Transport};
use crate::error::{Error, Result};
use crate::msgs::{Clock, RosMessage, Time};

/// Where and how the participant talks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DdsOptions {
    pub domain_id: u16,
    pub loopback_only: bool,
}

impl DdsOptions {
    /// From the standard ROS 2 environment variables.
    pub fn from_env() -> Result<Self> {
        let domain_id = match std::env::var("ROS_DOMAIN_ID") {
            Err(_) => 0,
            Ok(s) if s.trim().is_empty() => 0,
            Ok(s) => s
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|d| *d <= 232)
                .ok_or_else(|| {
                    Error::invalid("ROS_DOMAIN_ID", format!("`{s}`: expected 0..=232"))
                })?,
        };
        let localhost = std::env::var("ROS_LOCALHOST_ONLY").is_ok_and(|v| v == "1")
            || std::env::var("ROS_AUTOMATIC_DISCOVERY_RANGE").is_ok_and(|v| v == "LOCALHOST");
        Ok(DdsOptions {
            domain_id,
            loopback_only: localhost,
        })
    }
}

fn dds_err(what: String, e: impl std::fmt::Debug) -> Error {
    Error::invalid("dds", format!("{what}: {e:?}"))
}

fn profile(q: Qos) -> QosProfile {
    use ros2_client::qos::{Durability, History, Reliability, WhenFull};
    let base = QosProfile::subscription_default();
    QosProfile {
        reliability: match q.reliability {
            super::qos::Reliability::Reliable => Reliability::Reliable {
                when_full: WhenFull::DEFAULT,
            },
            super::qos::Reliability::BestEffort => Reliability::BestEffort,
        },
        durability: match q.durability {
            super::qos::Durability::Volatile => Durability::Volatile,
            super::qos::Durability::TransientLocal => Durability::TransientLocal,
        },
        history: History::KeepLast {
            depth: q.depth.max(1),
        },
        ..base
    }
}

/// One ROS 2 node on one DDS participant.
pub struct DdsTransport {
    /// Shared with the publishers, which ask it for their matched subscriptions.
    node: Arc<Mutex<Node>>,
    params: ParamMap,
    name: String,
    /// With use_sim_time: the latest /clock, in nanoseconds (0 until the first one, as rcl).
    sim_clock: OnceLock<Arc<AtomicI64>>,
    changes: Mutex<Option<futures::channel::mpsc::Receiver<(String, ParamValue)>>>,
    _context: Context,
}

/// Accepted changes waiting for the node; more than this and changes are refused.
const PENDING_CHANGES: usize = 64;

impl DdsTransport {
    /// Joins the domain and creates node `name` in namespace `namespace`.
    pub fn new(opts: &DdsOptions, namespace: &str, name: &str, params: ParamMap) -> Result<Self> {
        Self::with_parameters(opts, namespace, name, params, None)
    }

    /// As `new`, declaring the node's parameters to the standard parameter services (list,
    /// get, set), with `declared.validate` deciding which changes are accepted; accepted ones
    /// arrive on `parameter_changes()`.
    pub fn with_parameters(
        opts: &DdsOptions,
        namespace: &str,
        name: &str,
        params: ParamMap,
        declared: Option<super::DeclaredParams>,
    ) -> Result<Self> {
        let mut builder = DomainParticipantBuilder::new(opts.domain_id);
        if opts.loopback_only {
            builder = builder.with_only_networks([Ipv4Addr::LOCALHOST]);
        }
        let participant = builder.build().map_err(|e| {
            dds_err(
                format!("creating a participant in domain {}", opts.domain_id),
                e,
            )
        })?;
        let context = Context::from_domain_participant(participant)
            .map_err(|e| dds_err("creating the ROS 2 context".into(), e))?;
        let node_name = NodeName::new(namespace, name)
            .map_err(|e| dds_err(format!("node name `{namespace}/{name}`"), e))?;
        let fq = node_name.fully_qualified_name();
        let mut options = NodeOptions::new().enable_rosout(true);
        // Declared parameters are served by our own services (param_server.rs: descriptions,
        // rclcpp's semantics), so ros2-client's are off; without any, ros2-client's stay.
        let (tx, rx) = futures::channel::mpsc::channel(PENDING_CHANGES);
        let table = declared.map(|d| Arc::new(super::param_server::ParamTable::new(d, tx)));
        if table.is_some() {
            options = options.start_parameter_services(false);
        }
        let changes = table.as_ref().map(|_| rx);
        let mut node = context
            .new_node(node_name, options)
            .map_err(|e| dds_err(format!("creating node {fq}"), e))?;
        if let Some(table) = table {
            let events = context.get_parameter_events_topic();
            super::param_server::serve(&mut node, &fq, table, &events)?;
        }
        // The spinner answers graph and discovery traffic; it ends with the node.
        if let Ok(spinner) = node.spinner() {
            std::thread::Builder::new()
                .name("dds-spinner".into())
                .spawn(move || {
                    let _ = futures::executor::block_on(spinner.spin());
                })
                .map_err(|e| Error::io("dds spinner thread", e))?;
        }
        Ok(DdsTransport {
            node: Arc::new(Mutex::new(node)),
            params,
            name: fq,
            sim_clock: OnceLock::new(),
            changes: Mutex::new(changes),
            _context: context,
        })
    }

    /// From now on `now()` is the simulation time of /clock (rosgraph_msgs/Clock, best effort,
    /// keep last 1: it matches reliable and best-effort clock publishers alike).
    pub fn use_sim_time(&self) -> Result<()> {
        if self.sim_clock.get().is_some() {
            return Ok(());
        }
        let qos = Qos {
            depth: 1,
            ..Qos::SENSOR_DATA
        };
        let mut clock = self.subscribe::<Clock>("/clock", qos)?;
        let latest = Arc::new(AtomicI64::new(0));
        let writer = latest.clone();
        std::thread::Builder::new()
            .name("sim-clock".into())
            .spawn(move || {
                futures::executor::block_on(async {
                    while let Some(c) = clock.next().await {
                        writer.store(c.clock.nanos(), Ordering::SeqCst);
                    }
                })
            })
            .map_err(|e| Error::io("sim clock thread", e))?;
        let _ = self.sim_clock.set(latest);
        tracing::info!("{}: use_sim_time: ROS time follows /clock", self.name);
        Ok(())
    }

    fn topic<M: RosMessage>(
        &self,
        node: &mut Node,
        topic: &str,
        qos: Qos,
    ) -> Result<ros2_client::dds::rustdds::Topic> {
        let name = Name::parse(topic).map_err(|e| dds_err(format!("topic name `{topic}`"), e))?;
        node.create_topic(
            &name,
            MessageTypeName::new(M::PACKAGE, M::NAME),
            &profile(qos),
        )
        .map_err(|e| dds_err(format!("topic {topic} ({})", M::ros_type()), e))
    }
}

impl Drop for DdsTransport {
    fn drop(&mut self) {
        if let Ok(node) = self.node.lock() {
            node.stop_spinner();
        }
    }
}

struct DdsPublisher<M: RosMessage> {
    inner: ros2_client::Publisher<M>,
    topic: String,
    node: Arc<Mutex<Node>>,
}

impl<M: RosMessage> Publisher<M> for DdsPublisher<M> {
    fn publish(&self, msg: &M) -> Result<()> {
        self.inner
            .publish(msg.clone())
            .map_err(|e| Error::invalid("dds", format!("publishing on {}: {e}", self.topic)))
    }

    fn matched(&self) -> Option<usize> {
        let node = self.node.lock().ok()?;
        Some(self.inner.get_subscription_count(&node))
    }
}

impl Transport for DdsTransport {
    fn subscribe<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<BoxStream<'static, M>> {
        let mut node = self.node.lock().expect("node lock");
        let t = self.topic::<M>(&mut node, topic, qos)?;
        let sub = node
            .create_subscription::<M>(&t, Some(profile(qos)))
            .map_err(|e| dds_err(format!("subscribing to {topic}"), e))?;
        let sub = Arc::new(sub);
        let topic = topic.to_string();
        // A flood of undecodable samples logs one line a second, with the count.
        let gate = Arc::new(crate::throttle::Throttle::new(1.0));
        Ok(stream::unfold(sub, |sub| async move {
            let r = sub.async_take().await;
            Some((r, sub))
        })
        .filter_map(move |r| {
            let (topic, gate) = (topic.clone(), gate.clone());
            async move {
                match r {
                    Ok((m, _info)) => Some(m),
                    Err(e) => {
                        if let Some(held) = gate.allow() {
                            tracing::warn!(
                                "{topic}: dropped an undecodable {} sample: {e:?} ({held} more not logged since the last line)",
                                M::ros_type()
                            );
                        }
                        None
                    }
                }
            }
        })
        .boxed())
    }

    fn publisher<M: RosMessage>(&self, topic: &str, qos: Qos) -> Result<Box<dyn Publisher<M>>> {
        let mut node = self.node.lock().expect("node lock");
        let t = self.topic::<M>(&mut node, topic, qos)?;
        let inner = node
            .create_publisher::<M>(&t, Some(profile(qos)))
            .map_err(|e| dds_err(format!("publishing on {topic}"), e))?;
        Ok(Box::new(DdsPublisher {
            inner,
            topic: topic.to_string(),
            node: self.node.clone(),
        }))
    }

    fn now(&self) -> Time {
        if let Some(sim) = self.sim_clock.get() {
            return Time::from_nanos(sim.load(Ordering::SeqCst));
        }
        Time::wall_now()
    }

    fn parameters(&self) -> &ParamMap {
        &self.params
    }

    fn node_name(&self) -> &str {
        &self.name
    }

    /// RustDDS sends from its own event thread, and ros2-client offers no wait for
    /// acknowledgements: the process stays up for `max` so that the final hold goes out (and
    /// is resent once if a reliable reader asks) before the participant is dropped.
    fn flush(&self, max: std::time::Duration) {
        std::thread::sleep(max);
    }

    fn log_sink(&self) -> Option<super::rosout::LogSink> {
        use ros2_client::log::LogLevel;
        use ros2_client::RosoutRaw;
        let handle = self.node.lock().ok()?.logging_handle();
        let node = self.name.trim_start_matches('/').replace('/', ".");
        Some(Arc::new(
            move |level: u8, _target: &str, msg: &str, file: &str, line: u32| {
                let level = match level {
                    l if l >= 40 => LogLevel::Error,
                    l if l >= 30 => LogLevel::Warn,
                    l if l >= 20 => LogLevel::Info,
                    _ => LogLevel::Debug,
                };
                let stamp =
                    ros2_client::builtin_interfaces::Time::from_nanos(Time::wall_now().nanos());
                handle.rosout_raw(stamp, level, &node, msg, file, "", line);
            },
        ))
    }

    fn parameter_changes(&self) -> Option<BoxStream<'static, (String, ParamValue)>> {
        let rx = self.changes.lock().ok()?.take()?;
        Some(rx.boxed())
    }
}
