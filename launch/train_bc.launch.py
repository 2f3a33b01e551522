"""Behaviour cloning from rosbag2 bags (`ndp train-bc`), then optionally deploy with
ndp_policy.launch.py model:=OUT.

    ros2 launch ndp_ros train_bc.launch.py config:=/path/bc_bag.yaml data:="demos/run1 demos/run2" out:=runs/bc1

Arguments: config (a run config with a `bag_data:` section; default the package's
bc_reach_bag.yaml), data (bags, space-separated), out (run directory), epochs (override).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGS = {
    "config": ("", "run config with bag_data (default: the package's bc_reach_bag.yaml)"),
    "data": (None, "bag directories or .mcap/.db3 files, space-separated"),
    "out": ("runs/bc", "run directory (checkpoint, metrics, plots)"),
    "epochs": ("", "override train.epochs"),
}


def _actions(context):
    get = lambda name: LaunchConfiguration(name).perform(context)
    config = get("config") or PathJoinSubstitution(
        [FindPackageShare("ndp_ros"), "config", "bc_reach_bag.yaml"]).perform(context)
    args = ["train-bc", "--config", config, "--out", get("out"), "--data"] + get("data").split()
    if get("epochs"):
        args += ["--epochs", get("epochs")]
    return [Node(package="ndp_ros", executable="ndp", name="ndp_train_bc", arguments=args,
                 output="screen", emulate_tty=True)]


def generate_launch_description():
    decls = [
        DeclareLaunchArgument(k, description=d) if v is None
        else DeclareLaunchArgument(k, default_value=v, description=d)
        for k, (v, d) in ARGS.items()
    ]
    return LaunchDescription(decls + [OpaqueFunction(function=_actions)])
