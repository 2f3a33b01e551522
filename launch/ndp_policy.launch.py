"""Start ndp_policy beside the robot's drivers, ros2_control and MoveIt.

    ros2 launch ndp_ros ndp_policy.launch.py model:=/path/to/run \
        output:=joint_trajectory command_topic:=/arm_controller/joint_trajectory

Arguments: model (run directory: config.yaml + model.safetensors; overrides the params file's
`checkpoint`), params_file, namespace, use_sim_time (true / false, also True / False / 1 / 0;
anything else is an error), output (joint_trajectory | float64_array | pose), and the node's
topics: joint_states_topic, image_topic, ee_pose_topic (the end effector's PoseStamped, for
output pose), observation_topic (a simulator's observation vector), command_topic (each
overrides the matching parameter, joint_state_topic, image_topic, ee_pose_topic,
observation_topic, command_topic; empty: keep the params file's; a relative name is
resolved in the node's namespace).
"""
import os
import sys

from launch_ros.actions import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ndp_launch import arg_getter, describe, package_file, ros_bool  # noqa: E402

ARGS = {
    "model": ("", "run directory of the trained policy (config.yaml + model.safetensors)"),
    "params_file": (None, "ROS parameter file for ndp_policy"),
    "namespace": ("", "namespace of the node"),
    "use_sim_time": ("false", "use /clock (simulation): true | false"),
    "output": ("", "joint_trajectory | float64_array | pose (empty: the params file's)"),
    "joint_states_topic": ("", "sensor_msgs/JointState input (parameter joint_state_topic)"),
    "image_topic": ("", "sensor_msgs/Image input (parameter image_topic)"),
    "ee_pose_topic": ("", "geometry_msgs/PoseStamped of the end effector, output pose "
                          "(parameter ee_pose_topic)"),
    "observation_topic": ("", "std_msgs/Float64MultiArray observation vector, observation: "
                              "vector (parameter observation_topic)"),
    "command_topic": ("", "publish commands on this topic (parameter command_topic)"),
    "log_level": ("info", "log level of the node"),
}


# Launch argument -> node parameter, for the topics (parameters, not remaps: a remap rule must
# name the topic as the params file does, absolute or relative, and these work either way).
TOPIC_PARAMS = {
    "joint_states_topic": "joint_state_topic",
    "image_topic": "image_topic",
    "ee_pose_topic": "ee_pose_topic",
    "observation_topic": "observation_topic",
    "command_topic": "command_topic",
}


def _node(context):
    get = arg_getter(context)
    overrides = {"use_sim_time": ros_bool("use_sim_time", get("use_sim_time"))}
    if get("model"):
        overrides["checkpoint"] = get("model")
    if get("output"):
        overrides["output"] = get("output")
    for arg, param in TOPIC_PARAMS.items():
        if get(arg):
            overrides[param] = get(arg)
    return [
        Node(
            package="ndp_ros",
            executable="ndp_policy",
            name="ndp_policy",
            namespace=get("namespace"),
            parameters=[get("params_file"), overrides],
            arguments=["--ros-args", "--log-level", get("log_level")],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description():
    return describe(ARGS, _node, none_default=package_file("config", "ndp_policy.yaml"))
