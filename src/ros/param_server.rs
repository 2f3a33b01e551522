//! The standard ROS 2 parameter services (rcl_interfaces: list, get, get types, set, set
//! atomically, describe) of the embedded transport, answered from the node's declared
//! parameters. Ours rather than ros2-client's: ros2-client 0.12 builds `describe_parameters`
//! from the values alone (no description, no constraints) and offers no hook for them.
//! Semantics as rclcpp's: list by prefix and depth, NOT_SET for unknown names, undeclared or
//! undeclaring sets refused, a refused change answered unsuccessful with the validator's reason,
//! set atomically all or nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use ros2_client::parameters::raw;
use ros2_client::qos::History;
use ros2_client::rcl_interfaces as rcl;
use ros2_client::{Name, Node, QosProfile, ServiceMapping, ServiceTypeName};

use super::{DeclaredParams, ParamValidator, ParamValue};
use crate::error::{Error, Result};

/// The declared parameters, their descriptions and the check for changes.
pub struct ParamTable {
    values: Mutex<BTreeMap<String, ParamValue>>,
    descriptions: BTreeMap<String, String>,
    validate: ParamValidator,
    changes: Mutex<mpsc::Sender<(String, ParamValue)>>,
}

fn wire(v: Option<&ParamValue>) -> raw::ParameterValue {
    let mut w = raw::ParameterValue {
        ptype: raw::ParameterType::NOT_SET,
        boolean_value: false,
        int_value: 0,
        double_value: 0.0,
        string_value: String::new(),
        byte_array: vec![],
        bool_array: vec![],
        int_array: vec![],
        double_array: vec![],
        string_array: vec![],
    };
    match v {
        None => {}
        Some(ParamValue::Bool(b)) => (w.ptype, w.boolean_value) = (raw::ParameterType::BOOL, *b),
        Some(ParamValue::Integer(i)) => (w.ptype, w.int_value) = (raw::ParameterType::INTEGER, *i),
        Some(ParamValue::Double(d)) => (w.ptype, w.double_value) = (raw::ParameterType::DOUBLE, *d),
        Some(ParamValue::String(s)) => {
            (w.ptype, w.string_value) = (raw::ParameterType::STRING, s.clone())
        }
        Some(ParamValue::BoolArray(a)) => {
            (w.ptype, w.bool_array) = (raw::ParameterType::BOOL_ARRAY, a.clone())
        }
        Some(ParamValue::IntegerArray(a)) => {
            (w.ptype, w.int_array) = (raw::ParameterType::INTEGER_ARRAY, a.clone())
        }
        Some(ParamValue::DoubleArray(a)) => {
            (w.ptype, w.double_array) = (raw::ParameterType::DOUBLE_ARRAY, a.clone())
        }
        Some(ParamValue::StringArray(a)) => {
            (w.ptype, w.string_array) = (raw::ParameterType::STRING_ARRAY, a.clone())
        }
    }
    w
}

/// The value a client sent; Err for NOT_SET (an undeclare) and byte arrays (no such parameter).
fn from_wire(w: &raw::ParameterValue) -> std::result::Result<ParamValue, String> {
    use raw::ParameterType as T;
    Ok(match w.ptype {
        T::BOOL => ParamValue::Bool(w.boolean_value),
        T::INTEGER => ParamValue::Integer(w.int_value),
        T::DOUBLE => ParamValue::Double(w.double_value),
        T::STRING => ParamValue::String(w.string_value.clone()),
        T::BOOL_ARRAY => ParamValue::BoolArray(w.bool_array.clone()),
        T::INTEGER_ARRAY => ParamValue::IntegerArray(w.int_array.clone()),
        T::DOUBLE_ARRAY => ParamValue::DoubleArray(w.double_array.clone()),
        T::STRING_ARRAY => ParamValue::StringArray(w.string_array.clone()),
        T::NOT_SET => return Err("cannot undeclare a parameter of this node".into()),
        t => return Err(format!("unsupported parameter type {t}")),
    })
}

fn result(r: std::result::Result<(), String>) -> raw::SetParametersResult {
    match r {
        Ok(()) => raw::SetParametersResult {
            successful: true,
            reason: String::new(),
        },
        Err(reason) => raw::SetParametersResult {
            successful: false,
            reason,
        },
    }
}

impl ParamTable {
    /// The table of `declared`; accepted changes go to `changes`.
    pub fn new(declared: DeclaredParams, changes: mpsc::Sender<(String, ParamValue)>) -> Self {
        ParamTable {
            values: Mutex::new(declared.values.into_iter().collect()),
            descriptions: declared.descriptions,
            validate: declared.validate,
            changes: Mutex::new(changes),
        }
    }

    fn values(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ParamValue>> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// rclcpp's list: with no prefixes, names with fewer than `depth` dots (0: any); else names
    /// equal to a prefix or under `prefix.` within `depth` more levels. `prefixes` of the answer:
    /// the namespaces (up to the last dot) of the names listed.
    pub fn list(&self, prefixes: &[String], depth: u64) -> rcl::ListParametersResult {
        let within = |rest: &str| depth == 0 || (rest.matches('.').count() as u64) < depth;
        let names: Vec<String> = self
            .values()
            .keys()
            .filter(|n| {
                if prefixes.is_empty() {
                    return within(n);
                }
                prefixes.iter().any(|p| {
                    n.as_str() == p
                        || n.strip_prefix(p.as_str())
                            .and_then(|r| r.strip_prefix('.'))
                            .is_some_and(within)
                })
            })
            .cloned()
            .collect();
        let mut spaces: Vec<String> = names
            .iter()
            .filter_map(|n| n.rsplit_once('.').map(|(s, _)| s.to_string()))
            .collect();
        spaces.sort();
        spaces.dedup();
        rcl::ListParametersResult {
            names,
            prefixes: spaces,
        }
    }

    pub fn get(&self, names: &[String]) -> Vec<raw::ParameterValue> {
        let values = self.values();
        names.iter().map(|n| wire(values.get(n))).collect()
    }

    pub fn types(&self, names: &[String]) -> Vec<u8> {
        self.get(names).into_iter().map(|w| w.ptype).collect()
    }

    pub fn describe(&self, names: &[String]) -> Vec<raw::ParameterDescriptor> {
        let values = self.values();
        names
            .iter()
            .map(|n| raw::ParameterDescriptor {
                name: n.clone(),
                r#type: wire(values.get(n)).ptype,
                description: match values.get(n) {
                    Some(_) => self.descriptions.get(n).cloned().unwrap_or_default(),
                    None => "not a parameter of this node".into(),
                },
                additional_constraints: String::new(),
                read_only: false,
                dynamic_typing: false,
                floating_point_range: vec![],
                integer_range: vec![],
            })
            .collect()
    }

    /// Checks one change: declared, a supported type, accepted by the node.
    fn check(&self, p: &raw::Parameter) -> std::result::Result<ParamValue, String> {
        if !self.values().contains_key(&p.name) {
            return Err(format!(
                "parameter '{}' is not declared by this node",
                p.name
            ));
        }
        let v = from_wire(&p.value).map_err(|e| format!("{}: {e}", p.name))?;
        (self.validate)(&p.name, &v)?;
        Ok(v)
    }

    fn apply(&self, name: &str, v: ParamValue) -> std::result::Result<(), String> {
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_send((name.to_string(), v.clone()))
            .map_err(|_| "too many pending parameter changes".to_string())?;
        self.values().insert(name.to_string(), v);
        Ok(())
    }

    /// Each change on its own: the accepted ones applied, in order.
    pub fn set(&self, ps: &[raw::Parameter]) -> Vec<raw::SetParametersResult> {
        ps.iter()
            .map(|p| result(self.check(p).and_then(|v| self.apply(&p.name, v))))
            .collect()
    }

    /// All changes or none.
    pub fn set_atomically(&self, ps: &[raw::Parameter]) -> raw::SetParametersResult {
        let checked: std::result::Result<Vec<ParamValue>, String> =
            ps.iter().map(|p| self.check(p)).collect();
        result(checked.and_then(|vs| {
            ps.iter()
                .zip(vs)
                .try_for_each(|(p, v)| self.apply(&p.name, v))
        }))
    }
}

/// The `/parameter_events` message of the changes in `ps` that `results` say were applied.
fn event(fq: &str, ps: &[raw::Parameter], applied: impl Fn(usize) -> bool) -> raw::ParameterEvent {
    raw::ParameterEvent {
        stamp: ros2_client::builtin_interfaces::Time::now(),
        node: fq.to_string(),
        new_parameters: vec![],
        changed_parameters: (0..ps.len())
            .filter(|&i| applied(i))
            .map(|i| ps[i].clone())
            .collect(),
        deleted_parameters: vec![],
    }
}

/// Creates the six services of node `fq` (e.g. `/ndp_policy`) and answers them on a thread of
/// their own until the node is dropped; applied changes are announced on `/parameter_events`
/// as rclcpp does.
pub fn serve(
    node: &mut Node,
    fq: &str,
    table: Arc<ParamTable>,
    events_topic: &ros2_client::dds::rustdds::Topic,
) -> Result<()> {
    // rclcpp's service QoS: reliable, volatile, keep last 10.
    let qos = QosProfile::publisher_default().history(History::KeepLast { depth: 10 });
    let err = |what: &str, e: ros2_client::CreateError| {
        Error::invalid("dds", format!("creating {fq}/{what}: {e:?}"))
    };
    macro_rules! server {
        ($name:literal, $ty:literal) => {
            node.create_server(
                ServiceMapping::Enhanced,
                &Name::new(fq, $name).map_err(|e| Error::invalid("dds", format!("{e:?}")))?,
                &ServiceTypeName::new("rcl_interfaces", $ty),
                qos.clone(),
                qos.clone(),
            )
            .map_err(|e| err($name, e))?
        };
    }
    let list: ros2_client::Server<rcl::ListParametersRequest, rcl::ListParametersResponse> =
        server!("list_parameters", "ListParameters");
    let get: ros2_client::Server<rcl::GetParametersRequest, rcl::GetParametersResponse> =
        server!("get_parameters", "GetParameters");
    let types: ros2_client::Server<rcl::GetParameterTypesRequest, rcl::GetParameterTypesResponse> =
        server!("get_parameter_types", "GetParameterTypes");
    let set: ros2_client::Server<rcl::SetParametersRequest, rcl::SetParametersResponse> =
        server!("set_parameters", "SetParameters");
    let atomic: ros2_client::Server<
        rcl::SetParametersRequest,
        rcl::SetParametersAtomicallyResponse,
    > = server!("set_parameters_atomically", "SetParametersAtomically");
    let describe: ros2_client::Server<
        rcl::DescribeParametersRequest,
        rcl::DescribeParametersResponse,
    > = server!("describe_parameters", "DescribeParameters");

    let events: ros2_client::Publisher<raw::ParameterEvent> = node
        .create_publisher(events_topic, None)
        .map_err(|e| err("parameter_events", e))?;
    let fq = fq.to_string();
    std::thread::Builder::new()
        .name("dds-params".into())
        .spawn(move || {
            let t = &table;
            let announce = |e: raw::ParameterEvent| {
                if !e.changed_parameters.is_empty() {
                    if let Err(e) = events.publish(e) {
                        tracing::warn!("/parameter_events: {e:?}");
                    }
                }
            };
            // One loop per service; a request that does not decode is skipped (and logged).
            macro_rules! answer {
                ($server:ident, |$req:ident| $resp:expr) => {
                    $server.receive_request_stream().for_each(|r| async {
                        match r {
                            Ok((id, $req)) => {
                                let _ = $server.async_send_response(id, $resp).await;
                            }
                            Err(e) => tracing::warn!("parameter service request: {e:?}"),
                        }
                    })
                };
            }
            let loops = futures::future::join_all([
                answer!(list, |q| rcl::ListParametersResponse {
                    result: t.list(&q.prefixes, q.depth)
                })
                .boxed(),
                answer!(get, |q| rcl::GetParametersResponse {
                    values: t.get(&q.names)
                })
                .boxed(),
                answer!(types, |q| rcl::GetParameterTypesResponse {
                    values: t.types(&q.names)
                })
                .boxed(),
                answer!(set, |q| {
                    let results = t.set(&q.parameter);
                    announce(event(&fq, &q.parameter, |i| results[i].successful));
                    rcl::SetParametersResponse { results }
                })
                .boxed(),
                answer!(atomic, |q| {
                    let result = t.set_atomically(&q.parameter);
                    announce(event(&fq, &q.parameter, |_| result.successful));
                    rcl::SetParametersAtomicallyResponse { result }
                })
                .boxed(),
                answer!(describe, |q| rcl::DescribeParametersResponse {
                    values: t.describe(&q.names)
                })
                .boxed(),
            ]);
            futures::executor::block_on(loops);
        })
        .map_err(|e| Error::io("dds parameter services thread", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (ParamTable, mpsc::Receiver<(String, ParamValue)>) {
        let (tx, rx) = mpsc::channel(8);
        let declared = DeclaredParams {
            values: vec![
                ("rate_hz".into(), ParamValue::Double(100.0)),
                ("limits.velocity".into(), ParamValue::DoubleArray(vec![1.0])),
                ("limits.deep.x".into(), ParamValue::Integer(1)),
                ("enabled".into(), ParamValue::Bool(true)),
            ],
            validate: Box::new(|k, v| match (k, v) {
                ("enabled", ParamValue::Bool(_)) => Ok(()),
                ("enabled", v) => Err(format!("enabled: a bool, not {}", v.type_name())),
                (k, _) => Err(format!("{k} cannot change at run time")),
            }),
            descriptions: [("rate_hz".to_string(), "ticks per second".to_string())]
                .into_iter()
                .collect(),
        };
        (ParamTable::new(declared, tx), rx)
    }

    fn param(name: &str, v: &ParamValue) -> raw::Parameter {
        raw::Parameter {
            name: name.into(),
            value: wire(Some(v)),
        }
    }

    #[test]
    fn lists_by_prefix_and_depth_as_rclcpp() {
        let (t, _rx) = table();
        let all = t.list(&[], 0);
        assert_eq!(all.names.len(), 4);
        assert_eq!(all.prefixes, ["limits", "limits.deep"]);
        assert_eq!(t.list(&[], 1).names, ["enabled", "rate_hz"]);
        assert_eq!(t.list(&["limits".into()], 1).names, ["limits.velocity"]);
        assert_eq!(
            t.list(&["limits".into()], 0).names,
            ["limits.deep.x", "limits.velocity"]
        );
        assert!(t.list(&["limit".into()], 0).names.is_empty());
    }

    #[test]
    fn get_describe_and_types_answer_unknown_names_with_not_set() {
        let (t, _rx) = table();
        let names = ["rate_hz".to_string(), "nope".to_string()];
        let got = t.get(&names);
        assert_eq!(got[0].ptype, raw::ParameterType::DOUBLE);
        assert_eq!(got[0].double_value, 100.0);
        assert_eq!(got[1].ptype, raw::ParameterType::NOT_SET);
        let d = t.describe(&names);
        assert_eq!(d[0].description, "ticks per second");
        assert_eq!(d[0].r#type, raw::ParameterType::DOUBLE);
        assert_eq!(d[1].r#type, raw::ParameterType::NOT_SET);
        assert_eq!(
            t.types(&names),
            [raw::ParameterType::DOUBLE, raw::ParameterType::NOT_SET]
        );
    }

    #[test]
    fn sets_what_the_node_accepts_and_says_why_not() {
        let (t, mut rx) = table();
        let r = t.set(&[
            param("enabled", &ParamValue::Bool(false)),
            param("enabled", &ParamValue::Integer(3)),
            param("rate_hz", &ParamValue::Double(5.0)),
            param("nope", &ParamValue::Bool(true)),
        ]);
        assert!(r[0].successful);
        assert_eq!(r[1].reason, "enabled: a bool, not integer");
        assert_eq!(r[2].reason, "rate_hz cannot change at run time");
        assert!(
            r[3].reason.contains("'nope' is not declared"),
            "{}",
            r[3].reason
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            ("enabled".into(), ParamValue::Bool(false))
        );
        assert!(rx.try_recv().is_err(), "one change went out");
        assert!(!t.get(&["enabled".into()])[0].boolean_value);
        let undeclare = raw::Parameter {
            name: "enabled".into(),
            value: wire(None),
        };
        assert!(!t.set(&[undeclare])[0].successful);
    }

    #[test]
    fn set_atomically_is_all_or_nothing() {
        let (t, mut rx) = table();
        let r = t.set_atomically(&[
            param("enabled", &ParamValue::Bool(false)),
            param("rate_hz", &ParamValue::Double(5.0)),
        ]);
        assert!(!r.successful);
        assert!(rx.try_recv().is_err(), "nothing applied");
        assert!(t.get(&["enabled".into()])[0].boolean_value);
        assert!(
            t.set_atomically(&[param("enabled", &ParamValue::Bool(false))])
                .successful
        );
    }
}
