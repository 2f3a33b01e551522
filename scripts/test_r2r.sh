#!/usr/bin/env bash
# The r2r backend against a real ROS 2 Jazzy (.venv-ros, scripts/setup_ros.sh): the README's
# colcon workspace instructions (scripts/colcon_ws.sh, in target/colcon) generate the interface
# package ndp_ros_msgs and build ndp_ros with --features r2r linked against that ROS 2; then
# test/rclpy_peer.py, an rclpy node over Fast DDS, runs against the installed r2r ndp_policy and
# against the embedded-DDS ndp_policy (RustDDS talking to Fast DDS): JointState in (joints in
# another order), JointTrajectory and Float64MultiArray out, and SIGINT runs that must exit 0
# and deliver the final hold; the r2r node's parameter services as rclpy sees them
# (test/e2e/params_rclpy.py --check, domain 83); and test/e2e_rclpy.rs (domains 84-90): every
# output kind and ndp_ros_msgs/DmpPlan against the offline oracle on both transports, 640x480
# rgb8 images best effort and reliable, and the r2r node talking to the embedded transport.
# Network rule: discovery is loopback-only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from
# ros_env.sh, which both rclpy and the embedded transport follow), each transport has its own
# ROS_DOMAIN_ID (81, 82), and as root the DDS part runs in a fresh network namespace that has
# only `lo` (NDP_NO_NETNS=1 skips that).
# Run by scripts/test.sh; by hand: bash scripts/test_r2r.sh (after bash scripts/setup_ros.sh).
# NDP_R2R_SIGINT_RUNS (default 20): SIGINT runs per transport; NDP_DDS_MIN_FINAL_HOLDS (default
# all of them): final holds the embedded transport must deliver.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ros_env.sh
. scripts/ros_env.sh
runs="${NDP_R2R_SIGINT_RUNS:-20}"
r2r_node=target/colcon/install/ndp_ros/lib/ndp_ros/ndp_policy

if [ "${1:-}" = --peers ]; then
  # The DDS part (called below, in the network namespace when root).
  tmp="$2"
  # The colcon workspace's install space, as on a ROS machine: ndp_ros_msgs' typesupport
  # libraries (the r2r binary links them) and its Python bindings (the rclpy peers).
  set +u
  . target/colcon/install/setup.bash
  set -u
  # The r2r binary needs libpython's symbols (see ros_env.sh); the embedded one needs nothing.
  echo "test_r2r: rclpy peer against ndp_policy on r2r (rcl, Fast DDS)" >&2
  .venv-ros/bin/python test/rclpy_peer.py --domain 81 --run "$tmp/run" --sigint-runs "$runs" \
    --log-dir "$tmp/logs-r2r" --node-env "LD_PRELOAD=$NDP_ROS_LIBPYTHON" \
    -- "$r2r_node"
  echo "test_r2r: rclpy parameter services of ndp_policy on r2r (list, get, describe, set)" >&2
  ROS_DOMAIN_ID=83 LD_PRELOAD="$NDP_ROS_LIBPYTHON" RUST_LOG=info "$r2r_node" \
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
  echo "test_r2r: test/e2e_rclpy.rs: rclpy (and the embedded transport) against both nodes, against the oracle" >&2
  NDP_R2R_NODE="$PWD/$r2r_node" cargo test -q --test e2e_rclpy -- --ignored
  exit 0
fi

start=$SECONDS
echo "test_r2r: the README's colcon workspace (ndp_ros_msgs, then ndp_ros --features r2r against $NDP_ROS_PREFIX) in target/colcon" >&2
bash scripts/colcon_ws.sh
echo "test_r2r: colcon build $((SECONDS - start)) s" >&2
# The embedded-DDS node, `ndp init-model` and the e2e test from the default build.
cargo build --bin ndp --bin ndp_policy
cargo test -q --test e2e_rclpy --no-run

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
target/debug/ndp init-model --config config/state_ndp.yaml --out "$tmp/run" >/dev/null

# The DDS part, as root in a fresh network namespace with only `lo` (the builds above may need
# the network for crates, so they run outside it).
t=$SECONDS
bash scripts/netns.sh bash scripts/test_r2r.sh --peers "$tmp"
echo "test_r2r: peers $((SECONDS - t)) s; all passed in $((SECONDS - start)) s" >&2
