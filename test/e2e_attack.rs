//! The node against a hostile or broken robot environment, end to end over the embedded DDS
//! transport: the `ndp_policy` binary, and Python peers in test/e2e/ (Cyclone DDS for ROS
//! messages, stdlib sockets for forged RTPS datagrams). Everything stays on this machine: the
//! node runs with ROS_LOCALHOST_ONLY=1, Cyclone with the loopback-only cyclone_lo.xml, the raw
//! senders hard-code 127.0.0.1; each test has its own ROS_DOMAIN_ID (80-89).
//!
//! What is checked (README "The ROS 2 node", "Security"):
//! * forged DATA_FRAG claims of huge samples: the node's memory stays under `memory_limit_mb`
//!   and it ends with its out-of-memory message;
//! * malformed RTPS datagrams: the node runs on and logs nothing;
//! * JointState and Image attacks (NaN, Inf, 1e300, mismatched lengths, 100k names, reordered
//!   names, wrong encodings, an 8000x8000 claim, oversized data): every command stays in the
//!   box or moves toward it, moves at most velocity_max / rate_hz per tick, holds when only bad
//!   inputs or none arrive, and the refusals log about once a second per cause;
//! * fast joint states (2.5 kHz, as a joint_state_broadcaster at controller rate): never read as
//!   a clock jump;
//! * SIGINT: exit 0, and the final hold at rest reaches the peer.
//!
//! Needs the Python environment that scripts/setup.sh makes (.venv with cyclonedds); set
//! NDP_PYTHON to use another interpreter, NDP_POLICY_BIN to attack another build of the node.
//! The tests run one at a time (a shared lock): they
//! measure timing and memory on a small machine.

mod common;
use common::peers::{cyclone_python, cyclone_uri};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A random-weight checkpoint from `ndp init-model`.
fn init_model(dir: &Path, config: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_ndp"))
        .args(["init-model", "--config", config, "--out"])
        .arg(dir)
        .output()
        .expect("ndp runs");
    assert!(
        out.status.success(),
        "ndp init-model: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How the node ended: its wait status and its peak resident memory (getrusage).
#[derive(Clone, Copy, Debug)]
struct Ended {
    status: i32,
    max_rss_kb: i64,
}

impl Ended {
    fn code(&self) -> Option<i32> {
        libc::WIFEXITED(self.status).then(|| libc::WEXITSTATUS(self.status))
    }
    fn signal(&self) -> Option<i32> {
        libc::WIFSIGNALED(self.status).then(|| libc::WTERMSIG(self.status))
    }
}

/// The node process; reaped with wait4 (for its peak RSS); killed if a test fails half-way.
struct Node {
    child: Child,
    stderr: PathBuf,
    ended: Option<Ended>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(domain: u16, params: &[(&str, String)]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr.log");
        // NDP_POLICY_BIN: another build to attack (a release build, an older commit).
        let bin = std::env::var_os("NDP_POLICY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ndp_policy")));
        let mut cmd = Command::new(bin);
        cmd.arg("--ros-args");
        for (k, v) in params {
            cmd.args(["-p", &format!("{k}:={v}")]);
        }
        let child = cmd
            .env("ROS_DOMAIN_ID", domain.to_string())
            .env("ROS_LOCALHOST_ONLY", "1")
            .env("NO_COLOR", "1")
            // No backtrace symbolisation of a 350 MB debug binary in an out-of-memory abort.
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("ndp_policy starts");
        Node {
            child,
            stderr,
            ended: None,
            _dir: dir,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Reaps the node if it has ended (wait4, WNOHANG).
    fn poll(&mut self) -> Option<Ended> {
        if self.ended.is_none() {
            let mut status = 0;
            // SAFETY: wait4 writes one int and one plain struct.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::wait4(self.pid(), &mut status, libc::WNOHANG, &mut ru) };
            if r == self.pid() {
                self.ended = Some(Ended {
                    status,
                    max_rss_kb: ru.ru_maxrss,
                });
            }
        }
        self.ended
    }

    fn wait_timeout(&mut self, t: Duration) -> Option<Ended> {
        let until = Instant::now() + t;
        while Instant::now() < until {
            if let Some(e) = self.poll() {
                return Some(e);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.poll()
    }

    fn signal(&self, sig: i32) {
        if self.ended.is_none() {
            // SAFETY: a signal to our own child, not yet reaped.
            unsafe { libc::kill(self.pid(), sig) };
        }
    }

    /// SIGINT, then the exit (at most `t`).
    fn interrupt(&mut self, t: Duration) -> Ended {
        self.signal(libc::SIGINT);
        self.wait_timeout(t)
            .unwrap_or_else(|| panic!("no exit {t:?} after SIGINT\n{}", self.log()))
    }

    /// VmHWM, VmRSS and VmData in KiB, while it runs.
    fn mem(&self) -> Option<BTreeMap<String, i64>> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        Some(
            s.lines()
                .filter(|l| l.starts_with("Vm"))
                .filter_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    Some((
                        k.to_string(),
                        v.trim().trim_end_matches(" kB").parse().ok()?,
                    ))
                })
                .collect(),
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.poll().is_none() {
            self.signal(libc::SIGKILL);
            let _ = self.wait_timeout(Duration::from_secs(5));
        }
    }
}

/// Runs the attack peer to the end; returns its JSON lines.
fn peer(domain: u16, args: &[&str]) -> Vec<Value> {
    common::peers::run_peer("attack_peer.py", domain, args)
}

/// A stdlib Python script under test/e2e (raw UDP to 127.0.0.1 only), started.
fn spawn_raw_sender(script: &str, args: &[String]) -> Child {
    Command::new(cyclone_python())
        .arg(format!("test/e2e/{script}"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sender runs")
}

/// The same, to the end.
fn raw_sender(script: &str, args: &[String]) {
    let out = spawn_raw_sender(script, args)
        .wait_with_output()
        .expect("sender runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The node's UDP ports in `domain` as participant 0 (RTPS port mapping): SPDP multicast,
/// user multicast, SPDP unicast, user unicast. All bind 0.0.0.0 and feed one receiver.
fn ports(domain: u16) -> [u16; 4] {
    let base = 7400 + 250 * domain;
    [base, base + 1, base + 10, base + 11]
}

fn has_udp_port(pid: i32, port: u16) -> bool {
    // The sockets in /proc/net/udp whose inode the process holds.
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let s = l.to_string_lossy().to_string();
                    s.strip_prefix("socket:[")
                        .map(|r| r.trim_end_matches(']').to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let udp = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    udp.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 9
            && f[1].rsplit(':').next() == Some(&format!("{port:04X}"))
            && inodes.iter().any(|i| i == f[9])
    })
}

fn wait_for_port(node: &mut Node, port: u16) {
    let until = Instant::now() + Duration::from_secs(20);
    while !has_udp_port(node.pid(), port) {
        assert!(
            node.poll().is_none(),
            "the node ended while starting:\n{}",
            node.log()
        );
        assert!(Instant::now() < until, "the node never bound port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Commands: the limits and the watchdog, from what the peer received.

struct Cmd {
    src_ns: i64,
    data: Vec<f64>,
}

struct Phase {
    t0: i64,
    t1: i64,
}

fn commands(lines: &[Value]) -> Vec<Cmd> {
    lines
        .iter()
        .filter(|l| l["type"] == "cmd")
        .map(|l| Cmd {
            src_ns: l["src"].as_i64().unwrap(),
            data: l["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect(),
        })
        .collect()
}

fn phases(lines: &[Value]) -> BTreeMap<String, Phase> {
    lines
        .iter()
        .filter(|l| l["type"] == "phase")
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                Phase {
                    t0: l["t0"].as_i64().unwrap(),
                    t1: l["t1"].as_i64().unwrap(),
                },
            )
        })
        .collect()
}

struct Box1 {
    lo: f64,
    hi: f64,
}

impl Box1 {
    fn dist(&self, x: f64) -> f64 {
        (self.lo - x).max(x - self.hi).max(0.0)
    }
}

/// Every command finite; each at most `k` steps of velocity_max / rate from the one before
/// (k: the ticks between their source stamps, 1 unless a sample was lost); from inside the
/// box it stays inside, from outside it never moves away. The first command is one step from
/// the measured start. Returns the violations.
fn check_limits(cmds: &[Cmd], start: &[f64], rate: f64, vmax: f64, b: &Box1) -> Vec<String> {
    let step = vmax / rate;
    let mut bad = Vec::new();
    for c in cmds {
        if c.data.iter().any(|v| !v.is_finite()) || c.data.len() != start.len() {
            bad.push(format!("command {:?}", c.data));
        }
    }
    if let Some(first) = cmds.first() {
        for (j, (x, m)) in first.data.iter().zip(start).enumerate() {
            if (x - m).abs() > step + 1e-9 {
                bad.push(format!(
                    "first command joint {j}: {x} from the measured {m}"
                ));
            }
        }
    }
    for w in cmds.windows(2) {
        let dt = (w[1].src_ns - w[0].src_ns) as f64 * 1e-9;
        let k = (dt * rate).round().max(1.0);
        for (j, (a, c)) in w[0].data.iter().zip(&w[1].data).enumerate() {
            if (c - a).abs() > k * step + 1e-9 {
                bad.push(format!(
                    "joint {j}: {a} -> {c} ({:.3e} > {k} x {step})",
                    (c - a).abs()
                ));
            }
            if b.dist(*c) > b.dist(*a) + 1e-12 {
                bad.push(format!(
                    "joint {j}: {a} -> {c} leaves the box [{}, {}]",
                    b.lo, b.hi
                ));
            }
        }
    }
    bad
}

fn max_move(cmds: &[&Cmd]) -> f64 {
    cmds.windows(2)
        .flat_map(|w| w[0].data.iter().zip(&w[1].data).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max)
}

fn in_window(cmds: &[Cmd], t0: i64, t1: i64) -> Vec<&Cmd> {
    cmds.iter()
        .filter(|c| c.src_ns >= t0 && c.src_ns <= t1)
        .collect()
}

/// The watchdog: from `input_timeout_s` (+ margin) after the last good input until the end of
/// the silence, every command is the same (a hold at rest without acceleration_max); and the
/// node was moving before and moves again after.
fn check_watchdog(cmds: &[Cmd], ph: &BTreeMap<String, Phase>, timeout_s: f64, rate: f64) {
    let from = ph["bad_only"].t0 + ((timeout_s + 0.3) * 1e9) as i64;
    let to = ph["silence"].t1;
    let held = in_window(cmds, from, to);
    let expect = (to - from) as f64 * 1e-9 * rate;
    assert!(
        held.len() as f64 > 0.5 * expect,
        "{} commands while holding, expected about {expect:.0} (a hold streams at rate_hz)",
        held.len()
    );
    let moved = max_move(&held);
    assert!(
        moved == 0.0,
        "commands moved by up to {moved:e} while inputs were bad or absent (no hold)"
    );
    let before = in_window(cmds, ph["good"].t0, ph["bad_only"].t0);
    let after = in_window(
        cmds,
        ph["good_again"].t0 + 300_000_000,
        ph["good_again"].t1 + 400_000_000,
    );
    assert!(
        max_move(&before) > 0.0,
        "the node never moved on good inputs: nothing to hold"
    );
    assert!(
        !after.is_empty() && max_move(&after) > 0.0,
        "no motion after good inputs came back ({} commands)",
        after.len()
    );
}

/// Refusal log lines ("<time> WARN ...rejects: <cause>: ...: skipped (N so far, ...)") by
/// cause: their times (seconds of the day) and the highest count.
fn reject_lines(log: &str) -> BTreeMap<String, (Vec<f64>, u64)> {
    let mut by = BTreeMap::new();
    for l in log.lines() {
        let Some(i) = l.find("rejects: ") else {
            continue;
        };
        let rest = &l[i + "rejects: ".len()..];
        let cause = rest.split(':').next().unwrap_or("").to_string();
        let n = rest
            .rsplit_once("skipped (")
            .and_then(|(_, r)| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        // 2026-12-03T13:43:21.779193Z
        let t = l
            .get(11..26)
            .and_then(|h| {
                let f: Vec<f64> = h.split(':').filter_map(|x| x.parse().ok()).collect();
                (f.len() == 3).then(|| f[0] * 3600.0 + f[1] * 60.0 + f[2])
            })
            .unwrap_or_else(|| panic!("no time in {l}"));
        let e = by.entry(cause).or_insert((Vec::new(), 0));
        e.0.push(t);
        e.1 = e.1.max(n);
    }
    by
}

/// The refusal logs cannot flood: per cause, the first line at once, then at most one a
/// second (README: "logged at most once a second per cause"); a handful of lines in all for
/// thousands of refusals of every cause the attack should hit.
fn check_log_rate(log: &str, want_causes: &[&str]) {
    let by = reject_lines(log);
    let summary: Vec<String> = by
        .iter()
        .map(|(c, (ts, n))| format!("{c}: {} lines for {n} refusals", ts.len()))
        .collect();
    eprintln!("refusal logs: {}", summary.join("; "));
    for (cause, (ts, _)) in &by {
        for w in ts.windows(2) {
            assert!(
                w[1] - w[0] > 0.95,
                "two `{cause}` lines {:.3} s apart (at most one a second expected)",
                w[1] - w[0]
            );
        }
    }
    for c in want_causes {
        assert!(
            by.get(*c).is_some_and(|(_, n)| *n > 0),
            "no refusal of cause `{c}` logged: the attack did not reach the node\n{log}"
        );
    }
    let refused: u64 = by.values().map(|(_, n)| n).sum();
    let reject_lines: usize = by.values().map(|(ts, _)| ts.len()).sum();
    let lines = log.lines().count();
    assert!(refused >= 1000, "only {refused} refusals counted");
    assert!(
        lines <= reject_lines + 20,
        "{lines} stderr lines, {reject_lines} of them refusals:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------

/// Forged DATA_FRAG datagrams claiming 16 x 64 MiB samples (72 bytes each; RustDDS commits the
/// claimed size on the first fragment, README "Security"): with memory_limit_mb 256 the node's
/// peak RSS stays under 256 MiB and it ends with its out-of-memory line. Without the limit the
/// same claims would take ~1 GiB (test `without_a_memory_limit_forged_claims_are_committed`).
#[test]
fn forged_fragments_end_the_node_under_its_memory_limit() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let domain = 80;
    let limit_mb = 256;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
            ("memory_limit_mb", limit_mb.to_string()),
        ],
    );
    let port = ports(domain)[0];
    wait_for_port(&mut node, port);
    let before = node.mem().unwrap_or_default();
    let mut sender = spawn_raw_sender(
        "forge_datafrag.py",
        &[
            "--port".into(),
            port.to_string(),
            "-n".into(),
            "16".into(),
            "--sample-size".into(),
            (64u32 << 20).to_string(),
            "--interval".into(),
            "0.1".into(),
        ],
    );
    // VmData while the claims arrive (RLIMIT_DATA bounds it; the peak RSS comes from wait4).
    let mut peak_data = 0;
    let until = Instant::now() + Duration::from_secs(20);
    let ended = loop {
        if let Some(e) = node.poll() {
            break Some(e);
        }
        if let Some(m) = node.mem() {
            peak_data = peak_data.max(m.get("VmData").copied().unwrap_or(0));
        }
        if Instant::now() > until {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(sender.wait().unwrap().success(), "forge_datafrag.py failed");
    let log = node.log();
    eprintln!(
        "before: VmRSS {} kB, VmData {} kB; peak VmData seen {peak_data} kB; ended {ended:?}\n{}",
        before.get("VmRSS").copied().unwrap_or(0),
        before.get("VmData").copied().unwrap_or(0),
        log.lines().rev().take(3).collect::<Vec<_>>().join("\n")
    );
    match ended {
        Some(e) => {
            assert!(
                e.max_rss_kb < limit_mb * 1024,
                "peak RSS {} kB over the {limit_mb} MiB limit",
                e.max_rss_kb
            );
            assert!(
                log.contains("out of memory under the parameter memory_limit_mb"),
                "ended ({e:?}) without the out-of-memory line:\n{log}"
            );
            assert!(
                e.signal() == Some(libc::SIGABRT) || e.code().is_some_and(|c| c != 0),
                "ended as {e:?}"
            );
        }
        None => {
            // RustDDS did not commit the claims (a fixed RustDDS): then it must be small.
            let m = node.mem().unwrap();
            assert!(m["VmHWM"] < limit_mb * 1024, "still running at {m:?}");
            node.interrupt(Duration::from_secs(10));
        }
    }
    assert!(peak_data <= limit_mb * 1024, "VmData {peak_data} kB");
}

/// The same claims without a limit (memory_limit_mb 0): committed and kept. 8 x 64 MiB here
/// (safe on any test machine); measured: RSS from ~30 MB to ~540 MB, the node runs on, never
/// frees them. Characterisation of RustDDS 0.15.1 (README "Security"); ignored by default.
#[test]
#[ignore = "characterisation: commits 512 MiB on purpose"]
fn without_a_memory_limit_forged_claims_are_committed() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let domain = 81;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
            ("memory_limit_mb", "0".into()),
        ],
    );
    let port = ports(domain)[0];
    wait_for_port(&mut node, port);
    let before = node.mem().unwrap();
    raw_sender(
        "forge_datafrag.py",
        &[
            "--port".into(),
            port.to_string(),
            "-n".into(),
            "8".into(),
            "--sample-size".into(),
            (64u32 << 20).to_string(),
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    let after = node.mem().expect("still running");
    eprintln!("before {before:?}\nafter {after:?}");
    assert!(
        after["VmRSS"] - before["VmRSS"] > 400 * 1024,
        "the claims were not committed"
    );
    let e = node.interrupt(Duration::from_secs(10));
    assert_eq!(e.code(), Some(0), "{e:?}");
}

/// 180,000 malformed RTPS datagrams (random bytes, random submessages, truncated DATA, a
/// DATA_FRAG with its fragment bigger than its sample, unknown ids) on all four ports: the
/// node runs on, logs nothing for them and stays small.
#[test]
fn malformed_rtps_datagrams_are_dropped_quietly() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let domain = 86;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
        ],
    );
    let p = ports(domain);
    wait_for_port(&mut node, p[3]);
    std::thread::sleep(Duration::from_millis(300));
    let lines_before = node.log().lines().count();
    let list = p.map(|x| x.to_string()).join(",");
    raw_sender(
        "rtps_garbage.py",
        &["--ports".into(), list, "-n".into(), "7500".into()],
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(node.poll().is_none(), "ended:\n{}", node.log());
    let m = node.mem().unwrap();
    let log = node.log();
    let new = log.lines().count() - lines_before;
    eprintln!("{m:?}; {new} new log lines");
    assert!(new <= 2, "{new} log lines for malformed datagrams:\n{log}");
    assert!(m["VmHWM"] < 300 * 1024, "{m:?}");
    let e = node.interrupt(Duration::from_secs(10));
    assert_eq!(e.code(), Some(0), "{e:?}\n{}", node.log());
}

/// JointState attacks from a Cyclone peer against a 7-joint float64_array node with a box of
/// [-0.5, 0.5] (two joints start outside it), velocity_max 0.5 at 50 Hz (0.01 a tick):
/// good moving states; then 10,000 bad ones (NaN, -Inf, 1e300, 3.5e38, NaN velocity, 3
/// positions for 7 names, 9 velocities, a missing joint, empty, names only) as fast as they
/// go, with good ones every 10 ms, valid ones in another joint order and 100k-name ones among
/// them; then bad ones only; then nothing; then good ones again.
#[test]
fn joint_state_attacks_keep_the_limits_and_the_watchdog() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let (rate, vmax, timeout) = (50.0, 0.5, 0.3);
    let lo = ["-0.5"; 7].join(", ");
    let hi = ["0.5"; 7].join(", ");
    let vm = ["0.5"; 7].join(", ");
    let domain = 82;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
            ("output", "float64_array".into()),
            ("rate_hz", rate.to_string()),
            ("input_timeout_s", timeout.to_string()),
            ("position_min", format!("[{lo}]")),
            ("position_max", format!("[{hi}]")),
            ("velocity_max", format!("[{vm}]")),
        ],
    );
    let pos = [0.1, 0.2, 0.3, -1.0, 0.5, 1.0, 0.2];
    let pos_arg = pos.map(|v| v.to_string()).join(",");
    let got = peer(
        domain,
        &[
            "--scenario",
            "joint_flood",
            "--positions",
            &pos_arg,
            "--bad",
            "10000",
            "--phase-s",
            "1.5",
        ],
    );
    assert!(node.poll().is_none(), "the node ended:\n{}", node.log());
    let e = node.interrupt(Duration::from_secs(10));
    let log = node.log();
    assert_eq!(e.code(), Some(0), "{e:?}\n{log}");
    let summary = got.iter().find(|l| l["type"] == "summary").unwrap();
    eprintln!("peer: {summary}");
    let cmds = commands(&got);
    let ph = phases(&got);
    eprintln!(
        "{} commands; flood of 10,000 in {:.2} s; peak RSS {} kB",
        cmds.len(),
        got.iter().find(|l| l["name"] == "flood").unwrap()["seconds"],
        e.max_rss_kb
    );
    // The first command: one step from the first measurement (the wave starts 0.5 s later).
    let bad = check_limits(&cmds, &pos, rate, vmax, &Box1 { lo: -0.5, hi: 0.5 });
    assert!(
        bad.is_empty(),
        "{} violations: {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
    check_watchdog(&cmds, &ph, timeout, rate);
    check_log_rate(
        &log,
        &[
            "NaN or Inf",
            "malformed message",
            "missing joint",
            "too large",
        ],
    );
}

/// Image attacks against an image-observation float64_array node (2 DoF, image_max_bytes
/// 100,000): good images every 20 ms, then 10,000 bad ones (rgba8, 16UC1, empty and 5000-char
/// encodings, 8000x8000 claims with 9 kB of data, steps too small and 2^32-1, 0x0, 2^32-1
/// squared, over image_max_bytes) between good ones; then bad images only (states still good:
/// the image goes stale, the node must hold); then nothing; then good again.
#[test]
fn image_attacks_keep_the_limits_and_the_watchdog() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/digits_ndp.yaml");
    let (rate, vmax, timeout) = (50.0, 0.5, 0.3);
    let domain = 83;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[x, y]".into()),
            ("observation", "image".into()),
            ("output", "float64_array".into()),
            ("rate_hz", rate.to_string()),
            ("replan_period_s", "0.1".into()),
            ("input_timeout_s", timeout.to_string()),
            ("image_max_bytes", "100000".into()),
            ("position_min", "[-0.5, -0.5]".into()),
            ("position_max", "[0.5, 0.5]".into()),
            ("velocity_max", "[0.5, 0.5]".into()),
        ],
    );
    let got = peer(
        domain,
        &[
            "--scenario",
            "image_flood",
            "--joints",
            "x,y",
            "--positions",
            "0.3,0.9",
            "--bad",
            "10000",
            "--image-max-bytes",
            "100000",
        ],
    );
    assert!(node.poll().is_none(), "the node ended:\n{}", node.log());
    let e = node.interrupt(Duration::from_secs(10));
    let log = node.log();
    assert_eq!(e.code(), Some(0), "{e:?}\n{log}");
    eprintln!(
        "peer: {}",
        got.iter().find(|l| l["type"] == "summary").unwrap()
    );
    let cmds = commands(&got);
    let ph = phases(&got);
    let bad = check_limits(&cmds, &[0.3, 0.9], rate, vmax, &Box1 { lo: -0.5, hi: 0.5 });
    assert!(
        bad.is_empty(),
        "{} violations: {:?}",
        bad.len(),
        &bad[..bad.len().min(10)]
    );
    // Holding: commands constant from the image timeout on. (The state is constant here, so
    // motion before and after comes from the plan alone; only the hold is checked.)
    let from = ph["bad_only"].t0 + ((timeout + 0.3) * 1e9) as i64;
    let held = in_window(&cmds, from, ph["silence"].t1);
    assert!(held.len() > 50, "{} commands while holding", held.len());
    assert_eq!(
        max_move(&held),
        0.0,
        "commands moved while the image was bad or absent"
    );
    check_log_rate(
        &log,
        &[
            "unsupported image encoding",
            "wrong image size",
            "too large",
        ],
    );
}

/// Joint states at about 2.5 kHz (a joint_state_broadcaster at controller rate) and a 500 Hz
/// node, 10 s: inputs are always fresh and the wall clock never jumps, so the node must never
/// hold, and never log "the clock jumped back".
///
/// Before e800b91 the executor judged freshness at the tick's nominal time while input stamps
/// were receipt times: a state received between a tick's nominal time and its freshness check
/// was "from the future", read as a clock jump, and the node held until the next plan. This
/// test against de2e3c8 (NDP_POLICY_BIN): 8-20 such holds per run, 4 runs of 4 failed; against
/// e800b91: none.
#[test]
fn fast_joint_states_are_never_a_clock_jump() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let domain = 84;
    let mut node = Node::start(
        domain,
        &[
            ("checkpoint", dir.path().display().to_string()),
            ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
            ("output", "float64_array".into()),
            ("rate_hz", "500.0".into()),
        ],
    );
    let got = peer(
        domain,
        &[
            "--scenario",
            "fast_states",
            "--phase-s",
            "10",
            "--state-hz",
            "2500",
        ],
    );
    let e = node.interrupt(Duration::from_secs(10));
    let log = node.log();
    assert_eq!(e.code(), Some(0), "{e:?}\n{log}");
    let cmds = commands(&got);
    let summary = got.iter().find(|l| l["type"] == "summary").unwrap();
    eprintln!(
        "peer: {summary}; {} commands; holds: {}",
        cmds.len(),
        log.lines()
            .filter(|l| l.contains("holding position"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let jumps = log.matches("the clock jumped back").count();
    let holds = log.matches("holding position").count();
    assert!(cmds.len() > 2500, "{} commands", cmds.len());
    // The one hold allowed: the inputs stopping at the end.
    assert!(
        jumps == 0 && holds <= 1,
        "{jumps} 'clock jumped back' holds and {holds} holds in all with fresh inputs:\n{}",
        log.lines()
            .filter(|l| l.contains("holding") || l.contains("resuming"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// SIGINT while commanding (joint_trajectory output, 100 Hz): the node exits 0 and its last
/// message, the final hold (a braking trajectory whose last point is at rest), reaches the
/// peer. Ten runs;
/// delivery is best effort (the process ends right after publishing), so the count is
/// printed and most must arrive.
#[test]
fn sigint_exits_zero_and_the_final_hold_arrives() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    init_model(dir.path(), "config/state_ndp.yaml");
    let runs = 10;
    let mut delivered = 0;
    let mut report = Vec::new();
    for run in 0..runs {
        let domain = 85;
        let mut node = Node::start(
            domain,
            &[
                ("checkpoint", dir.path().display().to_string()),
                ("joint_names", "[j1, j2, j3, j4, j5, j6, j7]".into()),
                ("rate_hz", "100.0".into()),
            ],
        );
        let mut p = Command::new(cyclone_python())
            .arg("test/e2e/attack_peer.py")
            .args(["--domain", &domain.to_string(), "--timeout", "30"])
            .args(["--scenario", "sigint", "--want", "5", "--linger", "1.5"])
            .env("CYCLONEDDS_URI", cyclone_uri())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("peer runs");
        let mut lines = Vec::new();
        let mut interrupted_ns = None;
        for l in BufReader::new(p.stdout.take().unwrap()).lines() {
            let v: Value = serde_json::from_str(&l.unwrap()).unwrap();
            if v.get("ready").is_some() && interrupted_ns.is_none() {
                // Wall clock, as the source timestamps the peer reports.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                interrupted_ns = Some(t.as_nanos() as i64);
                node.signal(libc::SIGINT);
            }
            lines.push(v);
        }
        let interrupted_ns = interrupted_ns.expect("the peer never got ready");
        let status = p.wait().unwrap();
        assert!(status.success(), "peer: {lines:?}");
        let e = node
            .wait_timeout(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("run {run}: no exit after SIGINT\n{}", node.log()));
        assert_eq!(e.code(), Some(0), "run {run}: {e:?}\n{}", node.log());
        assert!(
            node.log().contains("stopped: final hold published"),
            "run {run}: the node did not publish its final hold:\n{}",
            node.log()
        );
        let trajs: Vec<&Value> = lines.iter().filter(|l| l["type"] == "traj").collect();
        // The final hold: a trajectory sent after the SIGINT (the node plans no more), braking
        // to rest: its last point has zero velocities.
        let after: Vec<&&Value> = trajs
            .iter()
            .filter(|t| t["src"].as_i64().unwrap() >= interrupted_ns)
            .collect();
        let at_rest = |t: &Value| {
            t["points"].as_array().unwrap().last().is_some_and(|p| {
                p["v"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|v| v.as_f64() == Some(0.0))
            })
        };
        let ok = after.last().is_some_and(|t| at_rest(t));
        delivered += ok as usize;
        report.push(format!(
            "run {run}: {} trajectories, {} after SIGINT, the last of {} points ending at rest: {ok}",
            trajs.len(),
            after.len(),
            after.last().map_or(0, |t| t["points"].as_array().unwrap().len()),
        ));
    }
    eprintln!(
        "{}\nfinal hold delivered in {delivered} of {runs} runs",
        report.join("\n")
    );
    assert!(
        delivered * 10 >= runs * 7,
        "final hold delivered in only {delivered} of {runs} runs"
    );
}
