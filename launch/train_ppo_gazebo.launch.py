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
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

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


def _ros_bool(name, value):
    """A boolean launch argument read as ROS and launch conditions read one: true / false (any
    case) or 1 / 0. Anything else is an error, never a silent false."""
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ValueError(f"{name}:={value!r}: expected true or false (or 1 / 0)")


def _actions(context):
    get = lambda name: LaunchConfiguration(name).perform(context)
    share = lambda *p: PathJoinSubstitution([FindPackageShare("ndp_ros"), *p]).perform(context)
    world = get("world") or share("bridges", "gazebo", "gantry.sdf")
    bridge = get("bridge_config") or share("bridges", "gazebo", "bridge.yaml")
    config = get("config") or share("config", "ppo_gazebo.yaml")
    args = ["train-ppo", "--config", config, "--out", get("out")]
    for flag in ("kind", "seed", "steps"):
        if get(flag):
            args += [f"--{flag}", get(flag)]
    if _ros_bool("resume", get("resume")):
        args.append("--resume")
    gz = ["gz", "sim", "-r", world] if _ros_bool("gui", get("gui")) else ["gz", "sim", "-r", "-s", world]
    return [
        ExecuteProcess(cmd=gz, output="screen"),
        Node(package="ros_gz_bridge", executable="parameter_bridge", name="ndp_gz_bridge",
             parameters=[{"config_file": bridge, "use_sim_time": True}], output="screen"),
        Node(package="ndp_ros", executable="ndp", name="ndp_train_ppo", arguments=args,
             output="screen", emulate_tty=True),
    ]


def generate_launch_description():
    decls = [
        DeclareLaunchArgument(k, default_value=v, description=d) for k, (v, d) in ARGS.items()
    ]
    return LaunchDescription(decls + [OpaqueFunction(function=_actions)])
