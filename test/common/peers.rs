//! Independent DDS peers for the end-to-end tests: the Python with Cyclone DDS (.venv, or
//! NDP_PYTHON) and its loopback-only configuration, and a child process killed if a test fails
//! half-way.

use std::path::PathBuf;
use std::process::{Child, Command};

/// The Python that has `cyclonedds` (scripts/setup.sh makes .venv); NDP_PYTHON overrides.
pub fn cyclone_python() -> PathBuf {
    let py = std::env::var_os("NDP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv/bin/python"));
    let ok = Command::new(&py)
        .args(["-c", "import cyclonedds"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import cyclonedds: run `bash scripts/setup.sh` first",
        py.display()
    );
    py
}

/// CYCLONEDDS_URI of the loopback-only Cyclone configuration (the workplace's, else ours).
pub fn cyclone_uri() -> String {
    let here = std::env::current_dir().unwrap();
    let candidates = [
        here.join("../shared/testing/cyclone_lo.xml"),
        here.join("test/e2e/cyclone_lo.xml"),
    ];
    let f = candidates
        .iter()
        .find(|p| p.exists())
        .expect("cyclone_lo.xml");
    format!("file://{}", f.canonicalize().unwrap().display())
}

/// A child process, killed and reaped when dropped (a test that fails half-way leaves none).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a Cyclone DDS peer script of test/e2e to the end (loopback-only, on `domain`, 40 s
/// timeout) and returns the JSON lines it printed; fails the test if it failed.
pub fn run_peer(script: &str, domain: u16, args: &[&str]) -> Vec<serde_json::Value> {
    let out = Command::new(cyclone_python())
        .arg(format!("test/e2e/{script}"))
        .args(["--domain", &domain.to_string(), "--timeout", "40"])
        .args(args)
        .env("CYCLONEDDS_URI", cyclone_uri())
        .output()
        .expect("peer runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        text.lines().last().unwrap_or(""),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Starts `bin` (an ndp_policy) with `-p name:=value` for each of `params`, on `domain`,
/// loopback-only, warnings and errors to the test's stderr; `env` added.
pub fn start_node(
    bin: &str,
    domain: u16,
    params: &[(&str, String)],
    env: &[(&str, String)],
) -> KillOnDrop {
    let mut cmd = Command::new(bin);
    cmd.arg("--ros-args");
    for (k, v) in params {
        cmd.args(["-p", &format!("{k}:={v}")]);
    }
    let child = cmd
        .env("ROS_DOMAIN_ID", domain.to_string())
        .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("ndp_policy starts");
    KillOnDrop(child)
}
