//! A simulator in another process (bridges/mujoco serves Meta-World): one Unix-socket
//! connection per instance, newline-delimited JSON requests and replies.
//!
//! Protocol (one JSON object per line, each request answered by one reply):
//!   {"op":"spec"}                     -> {"obs_dim":39,"act_dim":4,"max_steps":500}
//!                                        (optional "act_low":[..],"act_high":[..]: the
//!                                        action bounds; absent: [-1, 1], Meta-World's)
//!   {"op":"reset","seed":S|null}      -> {"obs":[..]}
//!   {"op":"step","action":[..]}       -> {"obs":[..],"reward":r,"terminated":b,"truncated":b,"success":b}
//!   {"op":"expert"}                   -> {"action":[..]} (the task's scripted policy)
//!   {"op":"close"}                    -> (the bridge closes the connection)
//! Any reply may be {"error":"..."}. Non-finite numbers travel as null (JSON has no NaN).
//! JSON because the bridge is Python and a step's 39 floats cost microseconds next to the
//! simulator's millisecond.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{EnvConfig, EnvSpec, Step};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// The simulator's task, e.g. `push-v3`.
    pub env_name: String,
    /// Socket path of instance i; `{i}` is replaced by the index and `{pid}` by the trainer's
    /// process id (so that parallel runs do not collide).
    pub socket: String,
    /// Command that starts one bridge (absent: bridges are already running). `{socket}`,
    /// `{env_name}` and `{seed}` in its words are replaced.
    #[serde(default)]
    pub spawn: Option<Vec<String>>,
    /// Seconds a reply may take before the bridge counts as hung.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Seconds to wait for a spawned bridge's socket to accept.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_s: f64,
}

fn default_timeout() -> f64 {
    30.0
}
fn default_connect_timeout() -> f64 {
    60.0
}

impl BridgeConfig {
    pub fn validate(&self) -> Result<()> {
        if self.env_name.is_empty() {
            return Err(Error::invalid("env.bridge.env_name", "must not be empty"));
        }
        if !self.socket.contains("{i}") {
            return Err(Error::invalid(
                "env.bridge.socket",
                "must contain `{i}` so that each instance gets its own socket",
            ));
        }
        for (k, v) in [
            ("timeout_s", self.timeout_s),
            ("connect_timeout_s", self.connect_timeout_s),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    format!("env.bridge.{k}"),
                    format!("must be finite and > 0, got {v}"),
                ));
            }
        }
        if matches!(&self.spawn, Some(s) if s.is_empty()) {
            return Err(Error::invalid("env.bridge.spawn", "must name a command"));
        }
        Ok(())
    }
}

/// One bridged instance; a bridge it spawned is killed when it is dropped.
pub struct BridgeEnv {
    what: String,
    spec: EnvSpec,
    /// Per action value, what the bridge accepts (actions are clipped into it before sending).
    act_low: Vec<f64>,
    act_high: Vec<f64>,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    child: Option<Child>,
    line: String,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    obs: Option<Vec<Option<f64>>>,
    /// A number, or null for a non-finite reward (absent is an error).
    #[serde(default, deserialize_with = "present")]
    reward: Option<serde_json::Value>,
    #[serde(default)]
    terminated: Option<bool>,
    #[serde(default)]
    truncated: Option<bool>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    action: Option<Vec<Option<f64>>>,
    #[serde(default)]
    obs_dim: Option<usize>,
    #[serde(default)]
    act_dim: Option<usize>,
    #[serde(default)]
    max_steps: Option<usize>,
    #[serde(default)]
    act_low: Option<Vec<f64>>,
    #[serde(default)]
    act_high: Option<Vec<f64>>,
}

/// Some(value) for a present key, null included (serde maps a null Option to None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl BridgeEnv {
    /// Connects instance `index` (spawning its bridge first when configured) and asks its spec.
    pub fn connect(b: &BridgeConfig, env: &EnvConfig, index: usize) -> Result<Self> {
        let path = PathBuf::from(
            b.socket
                .replace("{i}", &index.to_string())
                .replace("{pid}", &std::process::id().to_string()),
        );
        let what = format!(
            "bridge {} (instance {index}, {})",
            path.display(),
            b.env_name
        );
        let child = match &b.spawn {
            Some(cmd) => {
                let _ = std::fs::remove_file(&path);
                let seed = env.seed.wrapping_add(index as u64).to_string();
                let words: Vec<String> = cmd
                    .iter()
                    .map(|w| {
                        w.replace("{socket}", &path.to_string_lossy())
                            .replace("{env_name}", &b.env_name)
                            .replace("{seed}", &seed)
                    })
                    .collect();
                let child = Command::new(&words[0])
                    .args(&words[1..])
                    .stdin(Stdio::null())
                    .spawn()
                    .map_err(|e| {
                        Error::invalid("env.bridge.spawn", format!("{}: {e}", words[0]))
                    })?;
                Some(child)
            }
            None => None,
        };
        let mut child = child;
        let deadline = Instant::now() + Duration::from_secs_f64(b.connect_timeout_s);
        let stream = loop {
            match UnixStream::connect(&path) {
                Ok(s) => break s,
                Err(e) => {
                    if let Some(c) = child.as_mut() {
                        if let Ok(Some(status)) = c.try_wait() {
                            return Err(Error::File {
                                path,
                                msg: format!(
                                    "{what}: the bridge exited ({status}) before accepting"
                                ),
                            });
                        }
                    }
                    if Instant::now() > deadline {
                        if let Some(mut c) = child {
                            let _ = c.kill();
                            let _ = c.wait();
                        }
                        return Err(Error::File {
                            path,
                            msg: format!(
                                "{what}: cannot connect within {} s: {e}",
                                b.connect_timeout_s
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        let timeout = Duration::from_secs_f64(b.timeout_s);
        let io = |e: std::io::Error| Error::io(&path, e);
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let mut env_ = BridgeEnv {
            what,
            spec: EnvSpec {
                obs_dim: 0,
                act_dim: 0,
                max_steps: 0,
            },
            act_low: vec![],
            act_high: vec![],
            reader: BufReader::new(stream),
            writer,
            child,
            line: String::new(),
        };
        env_.send(&json!({"op": "spec"}))?;
        let r = env_.recv("spec")?;
        let field = |v: Option<usize>, k: &str| {
            v.filter(|&n| n > 0)
                .ok_or_else(|| env_.err(format!("reply to `spec` lacks a positive `{k}`")))
        };
        env_.spec = EnvSpec {
            obs_dim: field(r.obs_dim, "obs_dim")?,
            act_dim: field(r.act_dim, "act_dim")?,
            max_steps: field(r.max_steps, "max_steps")?,
        };
        let n = env_.spec.act_dim;
        let bound = |v: Option<Vec<f64>>, k: &str, default: f64| match v {
            None => Ok(vec![default; n]),
            Some(v) if v.len() == n && v.iter().all(|x| x.is_finite()) => Ok(v),
            Some(v) => Err(env_.err(format!(
                "reply to `spec`: `{k}` must be {n} finite numbers (act_dim), got {v:?}"
            ))),
        };
        let (low, high) = (
            bound(r.act_low, "act_low", -1.0)?,
            bound(r.act_high, "act_high", 1.0)?,
        );
        if let Some(j) = (0..n).find(|&j| low[j] > high[j]) {
            return Err(env_.err(format!(
                "reply to `spec`: act_low[{j}] = {} > act_high[{j}] = {}",
                low[j], high[j]
            )));
        }
        (env_.act_low, env_.act_high) = (low, high);
        Ok(env_)
    }

    /// The action bounds the bridge declared (default [-1, 1] per value).
    pub fn action_bounds(&self) -> (&[f64], &[f64]) {
        (&self.act_low, &self.act_high)
    }

    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::invalid(self.what.clone(), msg.to_string())
    }

    fn send(&mut self, v: &serde_json::Value) -> Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| self.err(format!("sending a request failed (bridge dead?): {e}")))
    }

    fn recv(&mut self, op: &str) -> Result<Reply> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => Err(self.err(format!(
                "closed the connection instead of answering `{op}` (did the simulator crash?)"
            ))),
            Ok(_) => {
                let r: Reply = serde_json::from_str(&self.line)
                    .map_err(|e| self.err(format!("reply to `{op}` is not valid JSON: {e}")))?;
                match r.error {
                    Some(msg) => Err(self.err(format!("`{op}` failed in the bridge: {msg}"))),
                    None => Ok(r),
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(self.err(format!(
                    "no reply to `{op}` within the timeout (bridge hung?)"
                )))
            }
            Err(e) => Err(self.err(format!("reading the reply to `{op}`: {e}"))),
        }
    }

    fn obs(&self, r: &Reply, op: &str) -> Result<Vec<f64>> {
        let obs = r
            .obs
            .as_ref()
            .ok_or_else(|| self.err(format!("reply to `{op}` has no `obs`")))?;
        if obs.len() != self.spec.obs_dim {
            return Err(self.err(format!(
                "reply to `{op}`: `obs` has {} values, the spec says {}",
                obs.len(),
                self.spec.obs_dim
            )));
        }
        Ok(obs.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

impl super::Env for BridgeEnv {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset(&mut self, seed: Option<u64>) -> Result<Vec<f64>> {
        self.send(&json!({"op": "reset", "seed": seed}))?;
        let r = self.recv("reset")?;
        self.obs(&r, "reset")
    }

    fn send_step(&mut self, action: &[f64]) -> Result<()> {
        if action.len() != self.spec.act_dim {
            return Err(self.err(format!(
                "action has {} values, the bridge takes {}",
                action.len(),
                self.spec.act_dim
            )));
        }
        // Clipped to the declared bounds: a position-controlled arm takes radians, not [-1, 1]
        // (clipping its commands to +-1 rad taught PPO a policy that failed when served).
        let a: Vec<f64> = action
            .iter()
            .zip(self.act_low.iter().zip(&self.act_high))
            .map(|(v, (lo, hi))| v.clamp(*lo, *hi))
            .collect();
        self.send(&json!({"op": "step", "action": a}))
    }

    fn recv_step(&mut self) -> Result<Step> {
        let r = self.recv("step")?;
        let obs = self.obs(&r, "step")?;
        let missing = |k: &str| self.err(format!("reply to `step` has no `{k}`"));
        Ok(Step {
            obs,
            reward: r
                .reward
                .ok_or_else(|| missing("reward"))?
                .as_f64()
                .unwrap_or(f64::NAN),
            terminated: r.terminated.ok_or_else(|| missing("terminated"))?,
            truncated: r.truncated.ok_or_else(|| missing("truncated"))?,
            success: r.success.unwrap_or(false),
        })
    }

    fn expert_action(&mut self) -> Result<Option<Vec<f64>>> {
        self.expert()
    }
}

impl BridgeEnv {
    fn expert(&mut self) -> Result<Option<Vec<f64>>> {
        self.send(&json!({"op": "expert"}))?;
        let r = self.recv("expert")?;
        let a = r
            .action
            .ok_or_else(|| self.err("reply to `expert` has no `action`"))?;
        if a.len() != self.spec.act_dim {
            return Err(self.err(format!(
                "expert action has {} values, the spec says {}",
                a.len(),
                self.spec.act_dim
            )));
        }
        Ok(Some(a.iter().map(|v| v.unwrap_or(f64::NAN)).collect()))
    }
}

impl Drop for BridgeEnv {
    fn drop(&mut self) {
        let _ = self.send(&json!({"op": "close"}));
        if let Some(c) = self.child.as_mut() {
            // A bridge gets a moment to exit on `close`, then is killed.
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
