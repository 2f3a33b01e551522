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
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGS = {
    "mode": ("record", "record (ros2 bag record) | sim (ndp collect with a scripted expert)"),
    "out": (None, "new bag directory"),
    "topics": ("/joint_states /camera/image_raw", "record: topics, space-separated"),
    "storage": ("mcap", "record: mcap | sqlite3"),
    "config": ("", "sim: ndp collect config (default: the package's collect_reach.yaml)"),
    "episodes": ("", "sim: number of episodes (default: the config's)"),
}


def _actions(context):
    get = lambda name: LaunchConfiguration(name).perform(context)
    mode = get("mode")
    if mode == "record":
        cmd = ["ros2", "bag", "record", "-s", get("storage"), "-o", get("out")] + get("topics").split()
        return [ExecuteProcess(cmd=cmd, output="screen")]
    if mode != "sim":
        raise RuntimeError(f"mode:={mode}: expected record or sim")
    config = get("config") or PathJoinSubstitution(
        [FindPackageShare("ndp_ros"), "config", "collect_reach.yaml"]).perform(context)
    args = ["collect", "--config", config, "--out", get("out")]
    if get("episodes"):
        args += ["--episodes", get("episodes")]
    return [Node(package="ndp_ros", executable="ndp", name="ndp_collect", arguments=args,
                 output="screen", emulate_tty=True)]


def generate_launch_description():
    decls = [
        DeclareLaunchArgument(k, description=d) if v is None
        else DeclareLaunchArgument(k, default_value=v, description=d)
        for k, (v, d) in ARGS.items()
    ]
    return LaunchDescription(decls + [OpaqueFunction(function=_actions)])
