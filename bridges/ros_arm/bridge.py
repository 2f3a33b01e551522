#!/usr/bin/env python3
"""The simulated arm's reach task (arm_task.py, the same model, targets and success test as the
ROS 2 simulator arm_sim.py) served to the ndp PPO trainer over the repository's bridge socket
protocol (src/env/bridge.rs; bridges/mujoco/bridge.py serves Meta-World the same way), with no
ROS and no rendering, so that it runs far faster than real time.

Protocol: newline-delimited JSON over a Unix socket, one reply per request:
  {"op":"spec"}                -> {"obs_dim":5,"act_dim":3,"max_steps":N}
  {"op":"reset","seed":S|null} -> {"obs":[...]}
  {"op":"step","action":[...]} -> {"obs":[...],"reward":r,"terminated":false,"truncated":b,"success":b}
  {"op":"expert"}              -> {"action":[...]}
  {"op":"close"}               -> the bridge exits
Non-finite numbers travel as null. Any failure is answered with {"error": "..."} and the bridge
keeps serving.

The environment: control at 20 Hz (each step simulates 0.05 s); observation [q1, q2, q3,
target_x, target_y], the layout of /task/observation; action: absolute joint position targets
in radians (3 values, clipped to the joint ranges, null counts as the current position);
reward per step: -distance(ee, target) in metres, plus 1 on steps that end with success
(distance < 0.04 m); terminated is never true, truncated after --max-steps (default 60: 3 s,
as the simulator's episodes). reset: a new target and, for PPO's diversity, the arm at rest at
a random pose within +-1.0 rad of home, both drawn from the reset's seed (or the bridge's own
seeded stream when the seed is null). expert: the minimum-jerk expert's (arm_expert.py's)
position target for the end of the next step: from the pose at reset to the IK goal in 1.2 s.

Usage: bridge.py --socket PATH [--seed S] [--max-steps N] [--targets K] [--env-name NAME]
"""
import argparse
import json
import math
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_task import HOME, Q_MAX, Q_MIN, SUCCESS_M, ArmTask, min_jerk  # noqa: E402

DT = 0.05
EXPERT_S = 1.2
START_SPREAD = 1.0


def clean(values):
    return [float(v) if math.isfinite(v) else None for v in values]


class ArmBridge:
    def __init__(self, seed, max_steps, targets):
        import numpy as np

        self.np = np
        self.task = ArmTask(seed=seed, targets=targets)
        self.rng = np.random.default_rng([seed % 2**63, 1])  # the start poses: apart from the targets'
        self.max_steps = max_steps
        self.steps = 0
        self.start_q = self.goal = None

    def handle(self, req):
        np = self.np
        op = req.get("op")
        if op == "spec":
            return {"obs_dim": 5, "act_dim": 3, "max_steps": self.max_steps}
        if op == "reset":
            seed = req.get("seed")
            if seed is not None:
                self.rng = np.random.default_rng([int(seed) % 2**63, 1])
                self.task.seed(int(seed) % 2**63)
            q = np.clip(HOME + self.rng.uniform(-START_SPREAD, START_SPREAD, 3), Q_MIN, Q_MAX)
            self.task.set_arm(q)
            self.task.reset_target()
            self.steps = 0
            self.start_q, self.goal = self.task.qpos, self.task.expert_goal()
            return {"obs": clean(self.task.observation())}
        if op == "step":
            if self.start_q is None:
                return {"error": "step before reset"}
            action = req["action"]
            if not isinstance(action, list) or len(action) != 3:
                return {"error": f"action must be a list of 3 numbers, got {action!r}"}
            q = self.task.qpos
            target = [q[i] if a is None else float(a) for i, a in enumerate(action)]
            target = [q[i] if not math.isfinite(a) else a for i, a in enumerate(target)]
            self.task.step(target, DT)
            self.steps += 1
            d = self.task.distance
            success = d < SUCCESS_M
            return {"obs": clean(self.task.observation()), "reward": -d + (1.0 if success else 0.0),
                    "terminated": False, "truncated": self.steps >= self.max_steps,
                    "success": bool(success)}
        if op == "expert":
            if self.start_q is None:
                return {"error": "expert before reset"}
            q, _ = min_jerk(self.start_q, self.goal, EXPERT_S, (self.steps + 1) * DT)
            return {"action": clean(q)}
        return {"error": f"unknown op {op!r}"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=60)
    ap.add_argument("--targets", type=int, default=0, help="0: continuous targets; N: one of N arc positions")
    ap.add_argument("--env-name", default="arm-reach", help="accepted for the trainer's spawn template; unused")
    args = ap.parse_args()
    bridge = ArmBridge(args.seed, args.max_steps, args.targets)
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(args.socket)
    server.listen(1)
    conn, _ = server.accept()
    server.close()
    os.unlink(args.socket)
    reader = conn.makefile("r", encoding="utf-8")
    writer = conn.makefile("w", encoding="utf-8")
    for line in reader:
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
            if req.get("op") == "close":
                break
            reply = bridge.handle(req)
        except Exception as e:  # the trainer gets the error; the bridge keeps serving
            reply = {"error": f"{type(e).__name__}: {e}"}
        writer.write(json.dumps(reply, allow_nan=False) + "\n")
        writer.flush()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
