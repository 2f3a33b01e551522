"""Start ndp_policy beside the robot's drivers, ros2_control and MoveIt.

    ros2 launch ndp_ros ndp_policy.launch.py model:=/path/to/run \
        output:=joint_trajectory command_topic:=/arm_controller/joint_trajectory

Arguments: model (run directory: config.yaml + model.safetensors; overrides the params file's
`checkpoint`), params_file, namespace, use_sim_time, output (joint_trajectory | float64_array |
pose), and topic remaps: joint_states_topic, image_topic, command_topic (empty: keep the
params file's).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGS = {
    "model": ("", "run directory of the trained policy (config.yaml + model.safetensors)"),
    "params_file": (None, "ROS parameter file for ndp_policy"),
    "namespace": ("", "namespace of the node"),
    "use_sim_time": ("false", "use /clock (simulation)"),
    "output": ("", "joint_trajectory | float64_array | pose (empty: the params file's)"),
    "joint_states_topic": ("", "remap /joint_states to this topic"),
    "image_topic": ("", "remap /camera/image_raw to this topic"),
    "command_topic": ("", "publish commands on this topic"),
    "log_level": ("info", "log level of the node"),
}


def _node(context):
    get = lambda name: LaunchConfiguration(name).perform(context)
    overrides = {"use_sim_time": get("use_sim_time").lower() == "true"}
    if get("model"):
        overrides["checkpoint"] = get("model")
    if get("output"):
        overrides["output"] = get("output")
    if get("command_topic"):
        overrides["command_topic"] = get("command_topic")
    remaps = []
    if get("joint_states_topic"):
        remaps.append(("/joint_states", get("joint_states_topic")))
    if get("image_topic"):
        remaps.append(("/camera/image_raw", get("image_topic")))
    return [
        Node(
            package="ndp_ros",
            executable="ndp_policy",
            name="ndp_policy",
            namespace=get("namespace"),
            parameters=[get("params_file"), overrides],
            remappings=remaps,
            arguments=["--ros-args", "--log-level", get("log_level")],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description():
    default_params = PathJoinSubstitution([FindPackageShare("ndp_ros"), "config", "ndp_policy.yaml"])
    declared = [
        DeclareLaunchArgument(name, default_value=default if default is not None else default_params,
                              description=doc)
        for name, (default, doc) in ARGS.items()
    ]
    return LaunchDescription(declared + [OpaqueFunction(function=_node)])
