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
# The r2r backend cannot link here (no ROS): type-check and lint it with r2r's bundled bindings.
cargo clippy --features r2r,r2r/doc-only --all-targets -- -D warnings
cargo clippy --no-default-features --features r2r,r2r/doc-only --all-targets -- -D warnings
cargo test --no-fail-fast
