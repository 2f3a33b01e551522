#!/usr/bin/env python3
"""The simulated arm's reach task (arm_task.py, the same model, targets and success test as the
ROS 2 simulator arm_sim.py) served to the ndp PPO trainer over the repository's bridge socket
protocol (src/env/bridge.rs; bridges/mujoco/bridge.py serves Meta-World the same way), with no
ROS and no rendering, so that it runs far faster than real time.

Protocol: newline-delimited JSON over a Unix socket, one reply per request:
  {"op":"spec"}                -> {"obs_dim":5,"act_dim":3,"max_steps":N,
                                   "act_low":[-2.6]*3,"act_high":[2.6]*3} (the joint ranges)
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

Usage: bridge.py --socket PATH [--seed S] [--max-steps N] [--targets K] [--start-spread S]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_task import HOME, Q_MAX, Q_MIN, ArmTask, min_jerk  # noqa: E402
from kinematics import EXPERT_S  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bridge_socket import clean, serve  # noqa: E402

DT = 0.05
START_SPREAD = 1.0


def start_rng(seed):
    """The start poses' random stream, apart from the targets' (ArmTask's own)."""
    return np.random.default_rng([seed % 2**63, 1])


class ArmBridge:
    def __init__(self, seed, max_steps, targets, start_spread=START_SPREAD):
        self.task = ArmTask(seed=seed, targets=targets)
        self.start_spread = start_spread
        self.rng = start_rng(seed)
        self.max_steps = max_steps
        self.steps = 0
        self.start_q = self.goal = None

    def handle(self, req):
        op = req.get("op")
        if op == "spec":
            # The bounds are the joint ranges: without them the trainer clips to Meta-World's
            # [-1, 1], and PPO learns around a +-1 rad wall that the served arm does not have.
            return {"obs_dim": 5, "act_dim": 3, "max_steps": self.max_steps,
                    "act_low": [Q_MIN] * 3, "act_high": [Q_MAX] * 3}
        if op == "reset":
            seed = req.get("seed")
            if seed is not None:
                self.rng = start_rng(int(seed))
                self.task.seed(int(seed) % 2**63)
            q = np.clip(HOME + self.rng.uniform(-self.start_spread, self.start_spread, 3), Q_MIN, Q_MAX)
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
            target = [float(a) if a is not None and math.isfinite(a) else q[i]
                      for i, a in enumerate(action)]
            self.task.step(target, DT)
            self.steps += 1
            success = self.task.success
            return {"obs": clean(self.task.observation()),
                    "reward": -self.task.distance + (1.0 if success else 0.0),
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
    ap.add_argument("--start-spread", type=float, default=START_SPREAD,
                    help="reset poses: home + uniform(-S, S) rad per joint (0: home, as arm_sim.py)")
    args = ap.parse_args()
    bridge = ArmBridge(args.seed, args.max_steps, args.targets, args.start_spread)
    serve(args.socket, bridge.handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
