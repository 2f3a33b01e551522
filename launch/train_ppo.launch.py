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
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

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
    config = get("config") or share("config", "ppo_reach.yaml")
    args = ["train-ppo", "--config", config, "--out", get("out")]
    for flag in ("kind", "seed", "steps"):
        if get(flag):
            args += [f"--{flag}", get(flag)]
    if _ros_bool("resume", get("resume")):
        args.append("--resume")
    actions = []
    for i in range(int(get("bridges"))):
        actions.append(ExecuteProcess(
            cmd=[get("python"), share("bridges", "mujoco", "bridge.py"), "--socket",
                 f"/tmp/ndp-launch-{i}.sock", "--env-name", get("env_name"), "--seed", str(i)],
            output="screen"))
    actions.append(Node(package="ndp_ros", executable="ndp", name="ndp_train_ppo", arguments=args,
                        output="screen", emulate_tty=True))
    return actions


def generate_launch_description():
    decls = [
        DeclareLaunchArgument(k, description=d) if v is None
        else DeclareLaunchArgument(k, default_value=v, description=d)
        for k, (v, d) in ARGS.items()
    ]
    return LaunchDescription(decls + [OpaqueFunction(function=_actions)])
