"""Record demonstrations into a rosbag2 bag, for `ndp train-bc --data BAG`.

    # a robot under teleoperation or kinesthetic teaching: ros2 bag record of the configured topics
    ros2 launch ndp_ros collect_demos.launch.py mode:=record out:=demos/run1 \
        topics:="/joint_states /camera/image_raw /episode"
    # a scripted expert in a simulator (built-in task or MuJoCo bridge): ndp collect
    ros2 launch ndp_ros collect_demos.launch.py mode:=sim config:=/path/collect_reach.yaml out:=demos/sim1

Arguments: mode (record | sim), out (new bag directory), topics (record: space-separated),
storage (record: mcap | sqlite3), config (sim: an `ndp collect` config; default the package's
collect_reach.yaml), episodes (sim: overrides collect.episodes).
Mark episodes while recording by publishing on a marker topic (any type) and cutting with
`bag_data.episodes.split: marker`, or leave gaps and use `split: gap`.
"""
import os
import sys

from launch.actions import ExecuteProcess
from launch_ros.actions import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndp_launch import arg_getter, describe, package_path  # noqa: E402

ARGS = {
    "mode": ("record", "record (ros2 bag record) | sim (ndp collect with a scripted expert)"),
    "out": (None, "new bag directory"),
    "topics": ("/joint_states /camera/image_raw", "record: topics, space-separated"),
    "storage": ("mcap", "record: mcap | sqlite3"),
    "config": ("", "sim: ndp collect config (default: the package's collect_reach.yaml)"),
    "episodes": ("", "sim: number of episodes (default: the config's)"),
}


def _actions(context):
    get = arg_getter(context)
    mode = get("mode")
    if mode == "record":
        cmd = ["ros2", "bag", "record", "-s", get("storage"), "-o", get("out")] + get("topics").split()
        return [ExecuteProcess(cmd=cmd, output="screen")]
    if mode != "sim":
        raise RuntimeError(f"mode:={mode}: expected record or sim")
    config = get("config") or package_path(context, "config", "collect_reach.yaml")
    args = ["collect", "--config", config, "--out", get("out")]
    if get("episodes"):
        args += ["--episodes", get("episodes")]
    return [Node(package="ndp_ros", executable="ndp", name="ndp_collect", arguments=args,
                 output="screen", emulate_tty=True)]


def generate_launch_description():
    return describe(ARGS, _actions)
