#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_ros.sh
export RAYON_NUM_THREADS=1
# Every ROS name the package ships (configs, bridge configs, params and launch files) is valid by
# rclpy's own validation (the ROS 2 Jazzy of .venv-ros; no DDS participant is created).
.venv-ros/bin/python test/ros_names.py
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
# The r2r backend linted with r2r's bundled bindings (no ROS needed); test_r2r.sh below links it.
cargo clippy --features r2r,r2r/doc-only --all-targets -- -D warnings
cargo clippy --no-default-features --features r2r,r2r/doc-only --all-targets -- -D warnings
# The r2r backend built against the real ROS 2 Jazzy of .venv-ros and run against an rclpy peer,
# as is the embedded transport (RustDDS to Fast DDS); loopback only. About 15 minutes cold (the
# r2r build has its own target dir), under a minute once built.
echo "test.sh: r2r build against ROS 2 Jazzy (.venv-ros) and rclpy peer tests (scripts/test_r2r.sh)" >&2
bash scripts/test_r2r.sh
# The simulated ROS 2 arm (bridges/ros_arm) on its own, then the user journey reduced.
.venv-ros/bin/python test/arm_sim_test.py
echo "test.sh: the user journey, reduced (scripts/test_journey.sh)" >&2
bash scripts/test_journey.sh
cargo test --no-fail-fast
