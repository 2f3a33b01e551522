#!/usr/bin/env python3
"""Raw Meta-World steps per second (random actions, resets included): the ceiling the
trainer's end-to-end speed is compared with. Prints one JSON line."""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import gymnasium as gym  # noqa: E402
import metaworld  # noqa: E402,F401

ap = argparse.ArgumentParser()
ap.add_argument("--env-name", default="push-v3")
ap.add_argument("--steps", type=int, default=20000)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
env = gym.make("Meta-World/MT1", env_name=a.env_name, seed=a.seed, disable_env_checker=True)
env.reset(seed=a.seed)
env.action_space.seed(a.seed)
t = time.perf_counter()
for _ in range(a.steps):
    _, _, term, trunc, _ = env.step(env.action_space.sample())
    if term or trunc:
        env.reset()
dt = time.perf_counter() - t
print(json.dumps({"env_name": a.env_name, "steps": a.steps, "steps_per_s": a.steps / dt}))
