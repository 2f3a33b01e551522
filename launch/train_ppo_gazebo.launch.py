"""Online PPO (`ndp train-ppo`) against a robot in Gazebo (gz sim) through ros_gz_bridge.

    ros2 launch ndp_ros train_ppo_gazebo.launch.py out:=runs/gz-reach
    # your own world and robot: a config like ppo_gazebo.yaml (joints, command topic pattern,
    # home, goal box) and a ros_gz_bridge config mapping the same topics:
    ros2 launch ndp_ros train_ppo_gazebo.launch.py world:=my.sdf bridge_config:=my_bridge.yaml \
        config:=my_ppo.yaml

Starts `gz sim -r -s WORLD` (headless server, running; gui:=true adds the client), the
ros_gz_bridge parameter_bridge with bridge_config, and the trainer. Defaults: the package's
bridges/gazebo/gantry.sdf, bridges/gazebo/bridge.yaml and config/ppo_gazebo.yaml.
Arguments: world, bridge_config, config, out, kind (ndp | ppo | ppo-multi), seed, steps,
resume (true: continue from out's latest checkpoint), gui.
Not run on this project's machines (no Gazebo there): test/launch/check_launch.py checks the
commands it builds and that the bridge config carries the trainer config's topics.
"""
import os
import sys

from launch.actions import ExecuteProcess
from launch_ros.actions import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndp_launch import arg_getter, describe, package_path, ros_bool  # noqa: E402

ARGS = {
    "world": ("", "SDF world (default: the package's bridges/gazebo/gantry.sdf)"),
    "bridge_config": ("", "ros_gz_bridge config (default: bridges/gazebo/bridge.yaml)"),
    "config": ("", "PPO config (default: the package's ppo_gazebo.yaml)"),
    "out": ("runs/ppo-gazebo", "run directory"),
    "kind": ("", "ndp | ppo | ppo-multi (default: the config's)"),
    "seed": ("", "override ppo.seed and env.seed"),
    "steps": ("", "override ppo.total_steps"),
    "resume": ("false", "continue from the latest checkpoint in out"),
    "gui": ("false", "also start the Gazebo GUI client"),
}


def _actions(context):
    get = arg_getter(context)
    world = get("world") or package_path(context, "bridges", "gazebo", "gantry.sdf")
    bridge = get("bridge_config") or package_path(context, "bridges", "gazebo", "bridge.yaml")
    config = get("config") or package_path(context, "config", "ppo_gazebo.yaml")
    args = ["train-ppo", "--config", config, "--out", get("out")]
    for flag in ("kind", "seed", "steps"):
        if get(flag):
            args += [f"--{flag}", get(flag)]
    if ros_bool("resume", get("resume")):
        args.append("--resume")
    gz = ["gz", "sim", "-r", world] if ros_bool("gui", get("gui")) else ["gz", "sim", "-r", "-s", world]
    return [
        ExecuteProcess(cmd=gz, output="screen"),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="ndp_gz_bridge",
             parameters=[{"config_file": bridge, "use_sim_time": True}], output="screen"),
        Node(package="ndp_ros", executable="ndp", name="ndp_train_ppo", arguments=args,
             output="screen", emulate_tty=True),
    ]


def generate_launch_description():
    return describe(ARGS, _actions)
