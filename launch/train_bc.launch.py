"""Behaviour cloning from rosbag2 bags (`ndp train-bc`), then optionally deploy with
ndp_policy.launch.py model:=OUT.

    ros2 launch ndp_ros train_bc.launch.py config:=/path/bc_bag.yaml data:="demos/run1 demos/run2" out:=runs/bc1

Arguments: config (a run config with a `bag_data:` section; default the package's
bc_reach_bag.yaml), data (bags, space-separated), out (run directory), epochs (override).
"""
import os
import sys

from launch_ros.actions import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndp_launch import arg_getter, describe, package_path  # noqa: E402

ARGS = {
    "config": ("", "run config with bag_data (default: the package's bc_reach_bag.yaml)"),
    "data": (None, "bag directories or .mcap/.db3 files, space-separated"),
    "out": ("runs/bc", "run directory (checkpoint, metrics, plots)"),
    "epochs": ("", "override train.epochs"),
}


def _actions(context):
    get = arg_getter(context)
    config = get("config") or package_path(context, "config", "bc_reach_bag.yaml")
    args = ["train-bc", "--config", config, "--out", get("out"), "--data"] + get("data").split()
    if get("epochs"):
        args += ["--epochs", get("epochs")]
    return [Node(package="ndp_ros", executable="ndp", name="ndp_train_bc", arguments=args,
                 output="screen", emulate_tty=True)]


def generate_launch_description():
    return describe(ARGS, _actions)
