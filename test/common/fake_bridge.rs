//! A fake simulator bridge for tests: a thread serving the bridge protocol on a Unix socket,
//! with the built-in reach task behind it and faults injected on request.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ndp_ros::env::reach::Reach;
use ndp_ros::env::Env;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    /// Observation values become NaN (sent as null) at this step count of the connection.
    NanObsAt(usize),
    /// The reward is null at this step count.
    NanRewardAt(usize),
    /// The bridge closes the connection at this step count.
    DieAt(usize),
    /// The bridge stops answering at this step count (keeps the socket open).
    HangAt(usize),
    /// Every reset fails with an error reply.
    ResetError,
}

/// Serves one connection on `path` in a thread; returns the thread's handle.
pub fn serve(path: &Path, max_steps: usize, seed: u64, fault: Fault) -> JoinHandle<()> {
    serve_with(path, max_steps, seed, fault, None).0
}

/// Actions as the bridge received them, in order.
pub type Received = Arc<Mutex<Vec<Vec<f64>>>>;

/// As `serve`, declaring action bounds (act_low, act_high) in its spec when given; also
/// returns the actions it receives.
pub fn serve_with(
    path: &Path,
    max_steps: usize,
    seed: u64,
    fault: Fault,
    bounds: Option<(Vec<f64>, Vec<f64>)>,
) -> (JoinHandle<()>, Received) {
    let listener = UnixListener::bind(path).expect("bind fake bridge socket");
    let received = Received::default();
    let log = received.clone();
    let handle = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut out = stream.try_clone().expect("clone stream");
        let mut lines = BufReader::new(stream);
        let mut env = Reach::new(max_steps, seed);
        let mut steps = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let req: Value = serde_json::from_str(&line).expect("request is JSON");
            let reply = match req["op"].as_str() {
                Some("spec") => {
                    let mut spec = json!({"obs_dim": 39, "act_dim": 4, "max_steps": max_steps});
                    if let Some((lo, hi)) = &bounds {
                        spec["act_low"] = json!(lo);
                        spec["act_high"] = json!(hi);
                    }
                    spec
                }
                Some("reset") if fault == Fault::ResetError => {
                    json!({"error": "MuJoCo: model failed to load"})
                }
                Some("reset") => json!({"obs": env.reset(req["seed"].as_u64()).unwrap()}),
                Some("step") => {
                    steps += 1;
                    match fault {
                        Fault::DieAt(n) if steps == n => return,
                        Fault::HangAt(n) if steps == n => {
                            std::thread::sleep(std::time::Duration::from_secs(3600));
                            return;
                        }
                        _ => {}
                    }
                    let a: Vec<f64> = req["action"]
                        .as_array()
                        .expect("action array")
                        .iter()
                        .map(|v| v.as_f64().unwrap())
                        .collect();
                    log.lock().unwrap().push(a.clone());
                    let s = env.step(&a).unwrap();
                    let obs: Vec<Value> = s
                        .obs
                        .iter()
                        .map(|&v| match fault {
                            Fault::NanObsAt(n) if steps == n => Value::Null,
                            _ => json!(v),
                        })
                        .collect();
                    let reward = match fault {
                        Fault::NanRewardAt(n) if steps == n => Value::Null,
                        _ => json!(s.reward),
                    };
                    json!({"obs": obs, "reward": reward, "terminated": s.terminated,
                           "truncated": s.truncated, "success": s.success})
                }
                Some("expert") => json!({"action": env.expert_action().unwrap().unwrap()}),
                Some("close") => return,
                other => json!({"error": format!("unknown op {other:?}")}),
            };
            let mut text = reply.to_string();
            text.push('\n');
            if out.write_all(text.as_bytes()).is_err() {
                return;
            }
        }
    });
    (handle, received)
}
