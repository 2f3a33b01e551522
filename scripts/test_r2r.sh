#!/usr/bin/env bash
# The r2r backend against a real ROS 2 Jazzy (.venv-ros, scripts/setup_ros.sh): builds
# ndp_policy with --features r2r linked against it (own target dir, target/r2r, so the default
# build's artifacts stay as they are), then runs test/rclpy_peer.py, an rclpy node over Fast DDS,
# against it and against the embedded-DDS ndp_policy (RustDDS talking to Fast DDS):
# JointState in (joints in another order), JointTrajectory and Float64MultiArray out, and
# SIGINT runs that must exit 0 and deliver the final hold; and the r2r node's parameter
# services as rclpy sees them (test/e2e/params_rclpy.py --check, domain 83).
# Network rule: discovery is loopback-only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from
# ros_env.sh, which both rclpy and the embedded transport follow), each transport has its own
# ROS_DOMAIN_ID (81, 82), and as root the DDS part runs in a fresh network namespace that has
# only `lo` (NDP_NO_NETNS=1 skips that).
# Run by scripts/test.sh; by hand: bash scripts/test_r2r.sh (after bash scripts/setup_ros.sh).
# NDP_R2R_SIGINT_RUNS (default 10): SIGINT runs per transport; NDP_DDS_MIN_FINAL_HOLDS (default
# all of them): final holds the embedded transport must deliver.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ros_env.sh
. scripts/ros_env.sh
runs="${NDP_R2R_SIGINT_RUNS:-10}"

if [ "${1:-}" = --peers ]; then
  # The DDS part (called below, in the network namespace when root).
  tmp="$2"
  # The r2r binary needs libpython's symbols (see ros_env.sh); the embedded one needs nothing.
  echo "test_r2r: rclpy peer against ndp_policy on r2r (rcl, Fast DDS)" >&2
  .venv-ros/bin/python test/rclpy_peer.py --domain 81 --run "$tmp/run" --sigint-runs "$runs" \
    --log-dir "$tmp/logs-r2r" --node-env "LD_PRELOAD=$NDP_ROS_LIBPYTHON" \
    -- target/r2r/debug/ndp_policy
  echo "test_r2r: rclpy parameter services of ndp_policy on r2r (list, get, describe, set)" >&2
  ROS_DOMAIN_ID=83 LD_PRELOAD="$NDP_ROS_LIBPYTHON" RUST_LOG=info target/r2r/debug/ndp_policy \
    --ros-args -p "checkpoint:=$tmp/run" -p "joint_names:=[j1,j2,j3,j4,j5,j6,j7]" \
    -p "velocity_max:=[1.0,1.0,1.0,1.0,1.0,1.0,1.0]" >"$tmp/params-r2r.log" 2>&1 &
  node=$!
  rc=0
  ROS_DOMAIN_ID=83 .venv-ros/bin/python test/e2e/params_rclpy.py --timeout 30 --check || rc=$?
  kill -INT "$node" && wait "$node" || { echo "ndp_policy on r2r exit $? on SIGINT" >&2; rc=1; }
  [ "$rc" = 0 ] || { tail -20 "$tmp/params-r2r.log" >&2; exit 1; }
  echo "test_r2r: rclpy peer against ndp_policy on the embedded DDS (RustDDS to Fast DDS)" >&2
  .venv-ros/bin/python test/rclpy_peer.py --domain 82 --run "$tmp/run" --sigint-runs "$runs" \
    --min-final-holds "${NDP_DDS_MIN_FINAL_HOLDS:-$runs}" --log-dir "$tmp/logs-dds" \
    -- target/debug/ndp_policy
  exit 0
fi

start=$SECONDS
echo "test_r2r: building ndp_policy --features r2r against $NDP_ROS_PREFIX (target/r2r)" >&2
CARGO_TARGET_DIR=target/r2r cargo build --features r2r --bin ndp_policy
echo "test_r2r: r2r build $((SECONDS - start)) s" >&2
# The embedded-DDS node and `ndp init-model` from the default build (cargo test builds both).
cargo build --bin ndp --bin ndp_policy

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
target/debug/ndp init-model --config config/state_ndp.yaml --out "$tmp/run" >/dev/null

# The DDS part, as root in a fresh network namespace with only `lo` (the builds above may need
# the network for crates, so they run outside it).
t=$SECONDS
bash scripts/netns.sh bash scripts/test_r2r.sh --peers "$tmp"
echo "test_r2r: peers $((SECONDS - t)) s; all passed in $((SECONDS - start)) s" >&2
