//! A simulator bridge over ROS 2 topics, through any `Transport` (the embedded DDS one by
//! default), so that a simulator on another machine of the same ROS network serves the
//! trainer. Standard messages only (std_msgs/Float64MultiArray), so a bridge written with
//! rclpy needs no custom interface package:
//!   NS/request: [seq, op, payload...]   op 0 reset (payload [seed], NaN for none),
//!                                       op 1 step (payload: the action), op 2 spec
//!   NS/reply:   [seq, obs..., reward, terminated, truncated, success]   (reset: [seq, obs...];
//!                                       spec: [seq, obs_dim, act_dim, max_steps])
//! NaN travels as NaN. A request is re-sent every 200 ms until the reply with its sequence
//! number arrives (DDS loses what is published before discovery completes); the server
//! answers a repeated sequence number from its cache, so nothing is ever stepped twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Env, EnvSpec, Step};
use crate::error::{Error, Result};
use crate::msgs::Float64MultiArray;
use crate::ros::blocking::subscribe_blocking;
use crate::ros::{Publisher, Qos, Transport};

const OP_RESET: f64 = 0.0;
const OP_STEP: f64 = 1.0;
const OP_SPEC: f64 = 2.0;
const RESEND: Duration = Duration::from_millis(200);

/// `env.ros_bridge`: where the simulator's topics are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosBridgeConfig {
    /// Namespace of instance i's topics; `{i}` is replaced by the index (e.g. `/sim{i}`).
    pub namespace: String,
    /// Seconds a reply may take before the bridge counts as dead or hung.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
}

fn default_timeout() -> f64 {
    30.0
}

impl RosBridgeConfig {
    pub fn validate(&self) -> Result<()> {
        if !self.namespace.starts_with('/') {
            return Err(Error::invalid(
                "env.ros_bridge.namespace",
                "must be absolute (start with `/`)",
            ));
        }
        // Instance 0's topics (`{i}` can only break a name where it starts a token, and then
        // for every index).
        let ns = self.namespace.replace("{i}", "0");
        if let Err(e) = crate::ros::names::validate_full_topic_name(&format!("{ns}/request")) {
            return Err(Error::invalid(
                "env.ros_bridge.namespace",
                format!("`{ns}/request` (instance 0) is not a valid ROS 2 name: {e}"),
            ));
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            return Err(Error::invalid("env.ros_bridge.timeout_s", "must be > 0"));
        }
        Ok(())
    }
}

fn array(data: Vec<f64>) -> Float64MultiArray {
    Float64MultiArray {
        data,
        ..Default::default()
    }
}

/// The trainer's side: one instance whose simulator answers on `ns`.
pub struct RosBridgeEnv {
    what: String,
    spec: EnvSpec,
    request: Box<dyn Publisher<Float64MultiArray>>,
    replies: Receiver<Float64MultiArray>,
    seq: u64,
    timeout: Duration,
    pending: Option<Vec<f64>>,
}

impl RosBridgeEnv {
    /// Connects to the bridge under `ns` and asks its spec (waiting for discovery).
    pub fn connect<T: Transport>(t: &T, ns: &str, timeout_s: f64) -> Result<Self> {
        let ns = ns.trim_end_matches('/');
        let mut env = RosBridgeEnv {
            what: format!("ROS bridge {ns}"),
            spec: EnvSpec {
                obs_dim: 0,
                act_dim: 0,
                max_steps: 0,
            },
            request: t.publisher::<Float64MultiArray>(&format!("{ns}/request"), Qos::DEFAULT)?,
            replies: subscribe_blocking(t, &format!("{ns}/reply"), Qos::DEFAULT, "ros-bridge-rx")?,
            seq: 0,
            timeout: Duration::from_secs_f64(timeout_s),
            pending: None,
        };
        let r = env.call(OP_SPEC, vec![], "spec")?;
        let dims: Vec<usize> = r
            .iter()
            .map(|&v| {
                if v.is_finite() && v >= 1.0 {
                    v as usize
                } else {
                    0
                }
            })
            .collect();
        if dims.len() != 3 || dims.contains(&0) {
            return Err(env.err(format!(
                "reply to `spec` must be 3 positive sizes, got {r:?}"
            )));
        }
        env.spec = EnvSpec {
            obs_dim: dims[0],
            act_dim: dims[1],
            max_steps: dims[2],
        };
        Ok(env)
    }

    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::invalid(self.what.clone(), msg.to_string())
    }

    fn send(&mut self, op: f64, payload: Vec<f64>) -> Result<()> {
        self.seq += 1;
        let mut data = vec![self.seq as f64, op];
        data.extend(payload);
        self.request.publish(&array(data.clone()))?;
        self.pending = Some(data);
        Ok(())
    }

    /// Waits for the reply to the pending request (re-sending it), without its sequence number.
    fn wait(&mut self, what: &str) -> Result<Vec<f64>> {
        let data = self
            .pending
            .take()
            .ok_or_else(|| self.err(format!("no `{what}` request pending")))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.err(format!(
                    "no reply to `{what}` within {:.1} s (bridge dead or hung?)",
                    self.timeout.as_secs_f64()
                )));
            }
            match self.replies.recv_timeout(left.min(RESEND)) {
                Ok(m) if m.data.first() == Some(&(self.seq as f64)) => {
                    return Ok(m.data[1..].to_vec());
                }
                Ok(_) => {} // a late reply to an earlier request
                Err(RecvTimeoutError::Timeout) => self.request.publish(&array(data.clone()))?,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.err("the reply subscription ended"))
                }
            }
        }
    }

    fn call(&mut self, op: f64, payload: Vec<f64>, what: &str) -> Result<Vec<f64>> {
        self.send(op, payload)?;
        self.wait(what)
    }
}

impl Env for RosBridgeEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>> {
        let s = seed.map_or(f64::NAN, |s| s as f64);
        let obs = self.call(OP_RESET, vec![s], "reset")?;
        if obs.len() != self.spec.obs_dim {
            return Err(self.err(format!(
                "reset gave {} values, the spec says {}",
                obs.len(),
                self.spec.obs_dim
            )));
        }
        Ok(obs)
    }

    fn send_step(&mut self, action: &[f64]) -> Result<()> {
        if action.len() != self.spec.act_dim {
            return Err(self.err(format!(
                "action has {} values, the bridge takes {}",
                action.len(),
                self.spec.act_dim
            )));
        }
        self.send(OP_STEP, action.iter().map(|v| v.clamp(-1.0, 1.0)).collect())
    }

    fn recv_step(&mut self) -> Result<Step> {
        let r = self.wait("step")?;
        let n = self.spec.obs_dim;
        if r.len() != n + 4 {
            return Err(self.err(format!(
                "step reply has {} values, expected {} (obs, reward, terminated, truncated, success)",
                r.len(),
                n + 4
            )));
        }
        Ok(Step {
            obs: r[..n].to_vec(),
            reward: r[n],
            terminated: r[n + 1] != 0.0,
            truncated: r[n + 2] != 0.0,
            success: r[n + 3] != 0.0,
        })
    }
}

/// The simulator's side: serves `env` on `ns` until `stop` is set. Used by Rust simulators and
/// the tests; an rclpy bridge implements the same few lines.
pub fn serve<T: Transport>(t: &T, ns: &str, env: &mut dyn Env, stop: &AtomicBool) -> Result<()> {
    let ns = ns.trim_end_matches('/');
    let requests = subscribe_blocking::<_, Float64MultiArray>(
        t,
        &format!("{ns}/request"),
        Qos::DEFAULT,
        "ros-bridge-rx",
    )?;
    let reply = t.publisher::<Float64MultiArray>(&format!("{ns}/reply"), Qos::DEFAULT)?;
    let mut last: Option<(f64, Vec<f64>)> = None;
    while !stop.load(Ordering::Relaxed) {
        let m = match requests.recv_timeout(Duration::from_millis(50)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let (Some(&seq), Some(&op)) = (m.data.first(), m.data.get(1)) else {
            tracing::warn!(
                "{ns}/request: a request needs [seq, op, ...], got {:?}",
                m.data
            );
            continue;
        };
        if let Some((s, r)) = &last {
            if *s == seq {
                reply.publish(&array(r.clone()))?;
                continue;
            }
        }
        let payload = &m.data[2..];
        let mut out = vec![seq];
        if op == OP_SPEC {
            let s = env.spec();
            out.extend([s.obs_dim as f64, s.act_dim as f64, s.max_steps as f64]);
        } else if op == OP_RESET {
            let seed = payload.first().filter(|v| v.is_finite()).map(|&v| v as u64);
            out.extend(env.reset(seed)?);
        } else if op == OP_STEP {
            let s = env.step(payload)?;
            out.extend(s.obs);
            out.extend([
                s.reward,
                s.terminated as u8 as f64,
                s.truncated as u8 as f64,
                s.success as u8 as f64,
            ]);
        } else {
            tracing::warn!("{ns}/request: unknown op {op}");
            continue;
        }
        reply.publish(&array(out.clone()))?;
        last = Some((seq, out));
    }
    Ok(())
}
