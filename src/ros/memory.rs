//! An in-memory transport with a settable clock: the node's logic tested without DDS.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::stream::{BoxStream, StreamExt};

use super::{ParamMap, Publisher, Qos, Transport};
use crate::error::Result;
use crate::msgs::{RosMessage, Time};

type Sample = Arc<dyn Any + Send + Sync>;
type Changes = futures::channel::mpsc::UnboundedReceiver<(String, super::ParamValue)>;
type Bus = Arc<Mutex<HashMap<String, Vec<UnboundedSender<Sample>>>>>;

/// Topics are in-process channels; every subscriber gets every later message of its type.
#[derive(Clone)]
pub struct MemoryTransport {
    bus: Bus,
    changes: Arc<Mutex<Option<Changes>>>,
    change_tx: UnboundedSender<(String, super::ParamValue)>,
    clock: Arc<AtomicI64>,
    params: ParamMap,
    name: String,
}

impl MemoryTransport {
    pub fn new(name: &str, params: ParamMap) -> Self {
        let (change_tx, rx) = unbounded();
        MemoryTransport {
            bus: Arc::default(),
            changes: Arc::new(Mutex::new(Some(rx))),
            change_tx,
            clock: Arc::new(AtomicI64::new(0)),
            params,
            name: name.into(),
        }
    }

    /// How many subscriptions `topic` has (tests wait for one before publishing, as
    /// volatile DDS readers lose what was sent before they matched).
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.bus
            .lock()
            .expect("bus lock")
            .get(topic)
            .map_or(0, Vec::len)
    }

    /// A parameter change as the parameter services would deliver it.
    pub fn set_parameter(&self, name: &str, value: super::ParamValue) {
        let _ = self.change_tx.unbounded_send((name.to_string(), value));
    }

    /// Sets the clock (nanoseconds of ROS time).
    pub fn set_time(&self, t: Time) {
        self.clock.store(t.nanos(), Ordering::SeqCst);
    }
}

struct MemoryPublisher {
    bus: Bus,
    topic: String,
}

impl<M: RosMessage> Publisher<M> for MemoryPublisher {
    fn publish(&self, msg: &M) -> Result<()> {
        let sample: Sample = Arc::new(msg.clone());
        let mut bus = self.bus.lock().expect("bus lock");
        if let Some(subs) = bus.get_mut(&self.topic) {
            subs.retain(|s| s.unbounded_send(sample.clone()).is_ok());
        }
        Ok(())
    }

    fn matched(&self) -> Option<usize> {
        let bus = self.bus.lock().ok()?;
        Some(
            bus.get(&self.topic)
                .map_or(0, |s| s.iter().filter(|x| !x.is_closed()).count()),
        )
    }
}

impl Transport for MemoryTransport {
    fn subscribe<M: RosMessage>(&self, topic: &str, _qos: Qos) -> Result<BoxStream<'static, M>> {
        let (tx, rx) = unbounded();
        self.bus
            .lock()
            .expect("bus lock")
            .entry(topic.to_string())
            .or_default()
            .push(tx);
        Ok(rx
            .filter_map(|s: Sample| async move { s.downcast_ref::<M>().cloned() })
            .boxed())
    }

    fn publisher<M: RosMessage>(&self, topic: &str, _qos: Qos) -> Result<Box<dyn Publisher<M>>> {
        Ok(Box::new(MemoryPublisher {
            bus: self.bus.clone(),
            topic: topic.to_string(),
        }))
    }

    fn now(&self) -> Time {
        Time::from_nanos(self.clock.load(Ordering::SeqCst))
    }

    fn parameters(&self) -> &ParamMap {
        &self.params
    }

    fn node_name(&self) -> &str {
        &self.name
    }

    fn parameter_changes(&self) -> Option<BoxStream<'static, (String, super::ParamValue)>> {
        let rx = self.changes.lock().expect("changes lock").take()?;
        Some(rx.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::Float64;

    #[test]
    fn a_publisher_counts_the_subscriptions_it_reaches() {
        let t = MemoryTransport::new("n", ParamMap::new());
        let p = t.publisher::<Float64>("/a", Qos::DEFAULT).unwrap();
        assert_eq!(p.matched(), Some(0));
        let s = t.subscribe::<Float64>("/a", Qos::DEFAULT).unwrap();
        let _other = t.subscribe::<Float64>("/b", Qos::DEFAULT).unwrap();
        assert_eq!(p.matched(), Some(1));
        drop(s);
        assert_eq!(
            p.matched(),
            Some(0),
            "a dropped subscription is not counted"
        );
    }
}
