"""Online PPO (`ndp train-ppo`) against simulator bridges.

    ros2 launch ndp_ros train_ppo.launch.py config:=/path/ppo_metaworld.yaml out:=runs/mw-push
    # bridges started here instead of by the trainer (config without env.bridge.spawn,
    # env.bridge.socket: /tmp/ndp-launch-{i}.sock):
    ros2 launch ndp_ros train_ppo.launch.py config:=... bridges:=4 env_name:=push-v3

Arguments: config (PPO config; default the package's ppo_reach.yaml, a built-in task),
out (run directory), kind (ndp | ppo | ppo-multi, override), seed, steps, resume (true:
continue from out's latest checkpoint), bridges (number of bridge processes to start here;
0: the trainer spawns them itself per env.bridge.spawn), env_name and python (for those).
"""
import os
import sys

from launch.actions import ExecuteProcess
from launch_ros.actions import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndp_launch import arg_getter, describe, package_path, ros_bool  # noqa: E402

ARGS = {
    "config": ("", "PPO config (default: the package's ppo_reach.yaml)"),
    "out": ("runs/ppo", "run directory"),
    "kind": ("", "ndp | ppo | ppo-multi (default: the config's)"),
    "seed": ("", "override ppo.seed and env.seed"),
    "steps": ("", "override ppo.total_steps"),
    "resume": ("false", "continue from the latest checkpoint in out"),
    "bridges": ("0", "bridge processes to start from this launch file"),
    "env_name": ("push-v3", "Meta-World task of the bridges started here"),
    "python": (".venv-mujoco/bin/python", "Python with metaworld for the bridges started here"),
}


def _actions(context):
    get = arg_getter(context)
    config = get("config") or package_path(context, "config", "ppo_reach.yaml")
    args = ["train-ppo", "--config", config, "--out", get("out")]
    for flag in ("kind", "seed", "steps"):
        if get(flag):
            args += [f"--{flag}", get(flag)]
    if ros_bool("resume", get("resume")):
        args.append("--resume")
    actions = []
    for i in range(int(get("bridges"))):
        actions.append(ExecuteProcess(
            cmd=[get("python"), package_path(context, "bridges", "mujoco", "bridge.py"), "--socket",
                 f"/tmp/ndp-launch-{i}.sock", "--env-name", get("env_name"), "--seed", str(i)],
            output="screen"))
    actions.append(Node(package="ndp_ros", executable="ndp", name="ndp_train_ppo", arguments=args,
                        output="screen", emulate_tty=True))
    return actions


def generate_launch_description():
    return describe(ARGS, _actions)
