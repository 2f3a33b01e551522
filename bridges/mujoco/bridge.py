#!/usr/bin/env python3
"""Serves one Meta-World task (MuJoCo) to the ndp trainer over a Unix socket, or one of
dm_control's Kinova Jaco manipulation tasks (`--env-name jaco/lift_brick_features`, ...).

Protocol: newline-delimited JSON, one reply per request (see src/env/bridge.rs):
  {"op":"spec"}                -> {"obs_dim":39,"act_dim":4,"max_steps":N}
  {"op":"reset","seed":S|null} -> {"obs":[...]}
  {"op":"step","action":[...]} -> {"obs":[...],"reward":r,"terminated":b,"truncated":b,"success":b}
  {"op":"expert"}              -> {"action":[...]}   (Meta-World's scripted policy, for demonstrations)
  {"op":"close"}               -> the bridge exits
Non-finite numbers are sent as null (JSON has no NaN). Any failure is answered with
{"error": "..."} and the bridge keeps serving.

Usage: bridge.py --socket PATH --env-name push-v3 [--seed S] [--max-steps N]

Jaco tasks (dm_control 1.0.28 `manipulation`, the closest to the paper's Jaco pick and throw:
`jaco/lift_brick_features` for pick, `jaco/reach_site_features`, any `*_features` task): the
observation is dm_control's feature dict flattened in its own key order, the action in [-1, 1]
is scaled onto the task's action bounds (joint velocities of the 6 arm joints and 3 fingers),
the episode ends at the task's 10 s limit (250 steps), and success is a reward above 0.99 (the
tasks give 1 when the goal holds: the pinch site on the target, the brick lifted). No scripted
expert. Needs `pip install dm_control==1.0.28` in the bridge's environment (setup_mujoco.sh).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bridge_socket import clean, serve  # noqa: E402

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per bridge
os.environ.setdefault("MUJOCO_GL", "egl")


def expert_for(env_name):
    """Meta-World's scripted policy class for a task name, e.g. push-v3 -> SawyerPushV3Policy."""
    import metaworld.policies as policies

    name = "Sawyer" + "".join(p.capitalize() for p in env_name.replace("-", " ").split()) + "Policy"
    cls = getattr(policies, name, None)
    return cls() if cls else None


class Bridge:
    def __init__(self, env_name, seed, max_steps):
        import gymnasium as gym
        import metaworld  # noqa: F401  (registers the Meta-World environments)

        self.env = gym.make("Meta-World/MT1", env_name=env_name, seed=seed, disable_env_checker=True)
        limit = self.env.unwrapped.max_path_length
        self.max_steps = min(max_steps or limit, limit)
        self.expert = expert_for(env_name)
        self.obs = None
        self.steps = 0

    def handle(self, req):
        op = req.get("op")
        if op == "spec":
            return {"obs_dim": int(self.env.observation_space.shape[0]),
                    "act_dim": int(self.env.action_space.shape[0]),
                    "max_steps": self.max_steps}
        if op == "reset":
            seed = req.get("seed")
            self.obs, _ = self.env.reset(seed=seed) if seed is not None else self.env.reset()
            self.steps = 0
            return {"obs": clean(self.obs)}
        if op == "step":
            action = [0.0 if a is None else max(-1.0, min(1.0, float(a))) for a in req["action"]]
            self.obs, reward, terminated, truncated, info = self.env.step(action)
            self.steps += 1
            truncated = bool(truncated) or self.steps >= self.max_steps
            r = float(reward)
            return {"obs": clean(self.obs), "reward": r if math.isfinite(r) else None,
                    "terminated": bool(terminated), "truncated": truncated,
                    "success": bool(info.get("success", 0.0) > 0.5)}
        if op == "expert":
            if self.expert is None or self.obs is None:
                return {"error": "no scripted policy for this task (or no reset yet)"}
            return {"action": clean(self.expert.get_action(self.obs))}
        return {"error": f"unknown op {op!r}"}


class JacoBridge:
    """A dm_control Jaco manipulation task behind the same ops (no `expert`)."""

    def __init__(self, task, seed, max_steps):
        import numpy as np
        from dm_control import manipulation

        self.np = np
        self.env = manipulation.load(task, seed=seed)
        spec = self.env.action_spec()
        self.low, self.high = spec.minimum.astype(float), spec.maximum.astype(float)
        limit = int(round(self.env._time_limit / self.env.control_timestep()))
        self.max_steps = min(max_steps or limit, limit)
        self.obs_dim = len(self.flat(self.env.reset().observation))
        self.steps = 0

    def flat(self, observation):
        return self.np.concatenate([self.np.asarray(v, dtype=float).ravel() for v in observation.values()])

    def handle(self, req):
        op = req.get("op")
        if op == "spec":
            return {"obs_dim": self.obs_dim, "act_dim": len(self.low), "max_steps": self.max_steps}
        if op == "reset":
            seed = req.get("seed")
            if seed is not None:
                self.env.random_state.seed(seed % 2**32)  # the trainer's seeds are 64-bit
            self.steps = 0
            return {"obs": clean(self.flat(self.env.reset().observation))}
        if op == "step":
            a = self.np.array([0.0 if v is None else max(-1.0, min(1.0, float(v))) for v in req["action"]])
            ts = self.env.step(self.low + (a + 1.0) * 0.5 * (self.high - self.low))
            self.steps += 1
            r = float(ts.reward or 0.0)
            return {"obs": clean(self.flat(ts.observation)), "reward": r if math.isfinite(r) else None,
                    "terminated": False, "truncated": bool(ts.last()) or self.steps >= self.max_steps,
                    "success": r > 0.99}
        if op == "expert":
            return {"error": "no scripted policy for the Jaco tasks"}
        return {"error": f"unknown op {op!r}"}


def make_bridge(env_name, seed, max_steps):
    if env_name.startswith("jaco/"):
        return JacoBridge(env_name[len("jaco/"):], seed, max_steps)
    return Bridge(env_name, seed, max_steps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--env-name", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=0, help="truncate episodes earlier than the task does")
    args = ap.parse_args()
    bridge = make_bridge(args.env_name, args.seed, args.max_steps)
    serve(args.socket, bridge.handle)


if __name__ == "__main__":
    sys.exit(main())
