#!/usr/bin/env bash
# The main job, the user journey on a simulated ROS 2 robot, with no ROS install: a MuJoCo arm
# that speaks what a ros2_control robot speaks (bridges/ros_arm, rclpy from the ROS 2 Jazzy
# wheels) -> expert demonstrations recorded from its topics into a rosbag2 MCAP bag -> behaviour
# cloning (image + joint positions) -> ndp_policy closing the loop on the trained bundle; then
# PPO in the same MuJoCo task (through its socket bridge) -> its exported bundle served the same
# way. Results, plots and a JSON summary in runs/journey/ (scripts/journey.py; options pass
# through, e.g. --skip-ppo, --demos 20 --episodes 10). Set-up is idempotent: the Rust
# toolchain's crates, .venv-ros.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_ros.sh
cargo build --bin ndp --bin ndp_policy
source scripts/ros_env.sh
# Network rule: loopback-only discovery (ros_env.sh) and, as root, a private network namespace.
exec bash scripts/netns.sh .venv-ros/bin/python scripts/journey.py "$@"
