#!/usr/bin/env python3
"""Serves a simulator to `ndp train-ppo` (env task `ros_bridge`) over ROS 2 topics, so the
simulator can run on another machine of the same ROS network. It speaks DDS directly through
Eclipse Cyclone DDS (PyPI `cyclonedds`, the default ROS 2 middleware), with ROS 2's topic and
type names: no ROS install and no rclpy needed, and ROS 2 tools see its topics.

Protocol (src/env/ros_bridge.rs), std_msgs/msg/Float64MultiArray both ways under NAMESPACE:
  NAMESPACE/request  [seq, op, payload...]   op 0 reset (payload [seed], NaN: none),
                                             op 1 step (payload: the action), op 2 spec
  NAMESPACE/reply    reset [seq, obs...]; step [seq, obs..., reward, terminated, truncated,
                     success]; spec [seq, obs_dim, act_dim, max_steps]
The trainer re-sends a request until its reply arrives; a repeated seq is answered from the
last reply, so nothing is stepped twice.

Usage:
  ros_bridge.py --namespace /sim0 --env-name push-v3 [--seed S]   # Meta-World (bridge.py's)
  ros_bridge.py --namespace /sim0 --env-name jaco/lift_brick_features   # dm_control Jaco
  ros_bridge.py --namespace /sim0 --env-name point-v0             # no MuJoCo: checks the link
Domain: --domain, else ROS_DOMAIN_ID, else 0. Interfaces: CYCLONEDDS_URI as usual (the tests
give a loopback-only configuration).
"""
import argparse
import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass

from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as t
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

OP_RESET, OP_STEP, OP_SPEC = 0.0, 1.0, 2.0


@dataclass
class MultiArrayDimension(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    label: str
    size: t.uint32
    stride: t.uint32


@dataclass
class MultiArrayLayout(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    dim: t.sequence[MultiArrayDimension]
    data_offset: t.uint32


@dataclass
class Float64MultiArray(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    layout: MultiArrayLayout
    data: t.sequence[t.float64]


# ROS 2's default QoS (reliable, keep last 10, volatile), as the trainer's topics use.
RELIABLE = Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10),
               Policy.Durability.Volatile)


class PointEnv:
    """A point in the plane moving 0.1 per unit of action towards a random goal: the link
    check that needs no MuJoCo (observation [x, y, goal_x, goal_y], 2 actions, 50 steps)."""

    obs_dim, act_dim, max_steps = 4, 2, 50

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.pos, self.goal, self.steps = [0.0, 0.0], [0.0, 0.0], 0

    def reset(self, seed):
        if seed is not None:
            self.rng = random.Random(seed)
        self.pos = [0.0, 0.0]
        self.goal = [self.rng.uniform(-1, 1), self.rng.uniform(-1, 1)]
        self.steps = 0
        return self.pos + self.goal

    def step(self, action):
        for i in range(2):
            a = action[i] if math.isfinite(action[i]) else 0.0
            self.pos[i] += 0.1 * max(-1.0, min(1.0, a))
        self.steps += 1
        d = math.dist(self.pos, self.goal)
        return self.pos + self.goal, -d, False, self.steps >= self.max_steps, d < 0.1


class BridgeEnv:
    """bridge.py's task (Meta-World, or a dm_control Jaco task) behind the same three calls."""

    def __init__(self, env_name, seed, max_steps):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from bridge import make_bridge  # imports the simulator's packages

        self.b = make_bridge(env_name, seed, max_steps)
        spec = self.b.handle({"op": "spec"})
        self.obs_dim, self.act_dim, self.max_steps = spec["obs_dim"], spec["act_dim"], spec["max_steps"]

    def reset(self, seed):
        return self._floats(self.b.handle({"op": "reset", "seed": seed})["obs"])

    def step(self, action):
        r = self.b.handle({"op": "step", "action": list(action)})
        if "error" in r:
            raise RuntimeError(r["error"])
        return (self._floats(r["obs"]), r["reward"] if r["reward"] is not None else math.nan,
                r["terminated"], r["truncated"], r["success"])

    @staticmethod
    def _floats(values):
        return [math.nan if v is None else float(v) for v in values]


def answer(env, data):
    """The reply to one request, or None for a malformed one."""
    if len(data) < 2:
        return None
    seq, op, payload = data[0], data[1], data[2:]
    if op == OP_SPEC:
        return [seq, float(env.obs_dim), float(env.act_dim), float(env.max_steps)]
    if op == OP_RESET:
        seed = int(payload[0]) if payload and math.isfinite(payload[0]) else None
        return [seq] + [float(v) for v in env.reset(seed)]
    if op == OP_STEP:
        obs, reward, terminated, truncated, success = env.step(payload)
        return [seq] + [float(v) for v in obs] + [float(reward), float(terminated),
                                                   float(truncated), float(success)]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespace", required=True, help="e.g. /sim0 (the trainer's {i} filled in)")
    ap.add_argument("--env-name", required=True,
                    help="a Meta-World task (push-v3, ...), jaco/<dm_control task>, or point-v0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=0, help="episode limit (0: the task's)")
    ap.add_argument("--domain", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0")))
    a = ap.parse_args()
    ns = "/" + a.namespace.strip("/")
    env = PointEnv(a.seed) if a.env_name == "point-v0" else BridgeEnv(a.env_name, a.seed, a.max_steps)

    dp = DomainParticipant(a.domain)
    # ROS 2 maps topic /x/y to the DDS topic rt/x/y.
    requests = DataReader(dp, Topic(dp, f"rt{ns}/request", Float64MultiArray), qos=RELIABLE)
    replies = DataWriter(dp, Topic(dp, f"rt{ns}/reply", Float64MultiArray), qos=RELIABLE)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    print(f"serving {a.env_name} on {ns}/request -> {ns}/reply (domain {a.domain})", file=sys.stderr,
          flush=True)
    last_seq, last_reply = None, None
    while running[0]:
        msgs = requests.take(N=16)
        if not msgs:
            time.sleep(0.0005)
            continue
        for m in msgs:
            # A writer that goes away (the trainer exits or restarts) arrives as an invalid
            # sample (InvalidSample: no data): nothing to answer.
            info = getattr(m, "sample_info", None)
            if not hasattr(m, "data") or (info is not None and not info.valid_data):
                continue
            data = list(m.data)
            if data and data[0] == last_seq:
                reply = last_reply  # a re-sent request: never step twice
            else:
                reply = answer(env, data)
                if reply is None:
                    print(f"{ns}/request: malformed request {data[:4]}", file=sys.stderr, flush=True)
                    continue
                last_seq, last_reply = data[0], reply
            replies.write(Float64MultiArray(layout=MultiArrayLayout(dim=[], data_offset=0), data=reply))


if __name__ == "__main__":
    main()
