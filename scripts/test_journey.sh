#!/usr/bin/env bash
# The user journey, reduced for CI (run by scripts/test.sh): the simulated ROS 2 arm (rclpy,
# MuJoCo), expert demonstrations recorded over real ROS 2 topics into a bag, BC from the bag,
# ndp_policy serving the BC bundle against the simulator, and the same for a small PPO run.
# Asserts: BC-served success within 15 points of the expert's, PPO-served success >= 0.6, each
# at least 0.5 above doing nothing; the bag read back by rosbags (an independent reader) with
# the counts the recorder wrote. Five to eight minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
bash scripts/demo.sh --out "$out" --domain 57 --targets 4 --demos 16 --episodes 8 --epochs 40 \
  --ppo-steps 30000 --min-bc-vs-expert 0.15 --min-ppo 0.6 --min-above-idle 0.5 >"$out/summary.out"
.venv/bin/python - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
topics = s["bag"]["topics"]
for t in ["/joint_states", "/camera/image_raw", "/joint_trajectory_controller/joint_trajectory",
          "/task/observation", "/task/result"]:
    assert t in topics, f"{t} missing from the bag: {sorted(topics)}"
    assert topics[t]["count"] == topics[t]["read"] > 0, (t, topics[t])
assert topics["/task/result"]["count"] == s["expert"]["episodes"], topics["/task/result"]
assert topics["/joint_trajectory_controller/joint_trajectory"]["count"] >= s["expert"]["episodes"]
print("test_journey:", json.dumps({k: s[k] for k in ("expert", "bc_served", "ppo_served",
                                                      "do_nothing", "stage_seconds")}))
PY
