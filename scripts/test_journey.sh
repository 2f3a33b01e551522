#!/usr/bin/env bash
# The user journey, reduced for CI (run by scripts/test.sh): the simulated ROS 2 arm (rclpy,
# MuJoCo), expert demonstrations recorded over real ROS 2 topics into a bag, BC from the bag,
# ndp_policy serving the BC bundle against the simulator (switched off and on by the simulator
# around each reset through its set_parameters service), PPO through the task's socket bridge
# and its exported bundle served the same way, and the do-nothing baseline.
# Asserts: every stage completes (the node exits 0 on SIGINT), the expert succeeds in >= 90 %,
# each served policy's (BC, PPO) success is within 15 points of the expert's and at least 0.5
# above doing nothing, and the bag read back by rosbags (an independent reader) has every topic
# with the counts the recorder wrote, one /task/result and one expert trajectory per
# demonstration. About five minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
bash scripts/demo.sh --out "$out" --domain 57 --targets 4 --demos 24 --episodes 8 --epochs 100 \
  --ppo-steps 200000 \
  --min-expert 0.9 --max-below-expert 0.15 --min-above-idle 0.5 >"$out/summary.out"
.venv/bin/python - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
topics = s["bag"]["topics"]
for t in ["/joint_states", "/camera/image_raw", "/joint_trajectory_controller/joint_trajectory",
          "/task/observation", "/task/result"]:
    assert t in topics, f"{t} missing from the bag: {sorted(topics)}"
    assert topics[t]["count"] == topics[t]["read"] > 0, (t, topics[t])
assert topics["/task/result"]["count"] == s["expert"]["episodes"], topics["/task/result"]
assert topics["/joint_trajectory_controller/joint_trajectory"]["count"] == s["expert"]["episodes"]
n = s["settings"]["episodes"]
assert s["bc_served"]["episodes"] == s["ppo_served"]["episodes"] == s["do_nothing"]["episodes"] == n
assert s["ppo_training"]["env_steps"] >= 200000, s["ppo_training"]
# The README's BC and PPO examples on this robot are the journey's own train and serve lines.
readme = open("README.md").read()
ran = [l for l in open(s["commands"]).read().splitlines()
       if l.startswith(("target/debug/ndp train-", "target/debug/ndp_policy "))]
assert len(ran) == 4, ran
for line in ran:
    assert line in readme, f"README.md does not show the command the journey ran: {line}"
print("test_journey:", json.dumps({k: s[k] for k in ("expert", "bc_served", "ppo_served",
                                                      "do_nothing", "stage_seconds")}))
PY
