"""Runs the package's launch files without ROS: `launch` and `launch_ros` are replaced by
stand-ins that record what would be started; `ndp` actions are then run for real (as
launch_ros would, with `--ros-args -r __node:=NAME` appended) and their outputs checked.

Usage (from test/launch.rs): NDP_BIN=/path/to/ndp python3 test/launch/check_launch.py TMPDIR
"""
import json
import os
import subprocess
import sys

import launch_stubs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NDP = os.environ["NDP_BIN"]
TMP = sys.argv[1]


def actions(launch_file, **overrides):
    items = launch_stubs.description(os.path.join(ROOT, "launch", launch_file))
    ctx = {}
    for it in items:
        if type(it).__name__ == "DeclareLaunchArgument":
            ctx[it.a[0]] = it.k.get("default_value")
    unknown = set(overrides) - set(ctx)
    assert not unknown, f"{launch_file}: no launch arguments {unknown}"
    ctx.update(overrides)
    missing = [k for k, v in ctx.items() if v is None]
    assert not missing, f"{launch_file}: required arguments not given: {missing}"
    out = []
    for it in items:
        if type(it).__name__ == "OpaqueFunction":
            out += it.k["function"](ctx)
    return out


def command(action):
    """The command line launch would run for an action."""
    if type(action).__name__ == "Node":
        k = action.k
        assert k["package"] == "ndp_ros" and k["executable"] == "ndp", k
        return [NDP] + list(k["arguments"]) + ["--ros-args", "-r", f"__node:={k['name']}"]
    return list(action.k["cmd"])


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "RUST_LOG": "warn"})
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


launch_stubs.install(ROOT)


def raises(fn, what):
    try:
        fn()
    except ValueError as e:
        assert what in str(e), e
        return
    raise AssertionError(f"no error for {what}")


# Booleans as ROS reads them (true / false in any case, 1 / 0); anything else is an error, not
# a silent false.
for value, want in [("true", True), ("True", True), ("TRUE", True), ("1", True),
                    ("false", False), ("False", False), ("0", False)]:
    (node,) = actions("ndp_policy.launch.py", use_sim_time=value)
    assert node.k["parameters"][1]["use_sim_time"] is want, (value, node.k["parameters"])
    ppo_args = actions("train_ppo.launch.py", resume=value)[-1].k["arguments"]
    assert ("--resume" in ppo_args) is want, (value, ppo_args)
    gz_cmd = command(actions("train_ppo_gazebo.launch.py", gui=value)[0])
    assert ("-s" not in gz_cmd) is want, (value, gz_cmd)
for bad in ["yes", "on", "", "ture"]:
    raises(lambda: actions("ndp_policy.launch.py", use_sim_time=bad), "use_sim_time:=")
    raises(lambda: actions("train_ppo.launch.py", resume=bad), "resume:=")
    raises(lambda: actions("train_ppo_gazebo.launch.py", gui=bad), "gui:=")
# The node's topics as parameter overrides (ee_pose_topic for output pose among them).
(node,) = actions("ndp_policy.launch.py", ee_pose_topic="arm/ee_pose", joint_states_topic="/robot/joint_states",
                  image_topic="wrist/image_raw", command_topic="/arm_controller/joint_trajectory")
over = node.k["parameters"][1]
assert over["ee_pose_topic"] == "arm/ee_pose" and over["joint_state_topic"] == "/robot/joint_states", over
assert over["image_topic"] == "wrist/image_raw" and over["command_topic"] == "/arm_controller/joint_trajectory", over
(node,) = actions("ndp_policy.launch.py")
assert set(node.k["parameters"][1]) == {"use_sim_time"}, "empty topic arguments keep the params file's"

bag = os.path.join(TMP, "demos")
run_dir = os.path.join(TMP, "bc")
ppo_dir = os.path.join(TMP, "ppo")

# collect_demos, record mode: ros2 bag record of the topics (not run: no ROS here).
(rec,) = actions("collect_demos.launch.py", out=bag, topics="/joint_states /episode")
assert command(rec) == ["ros2", "bag", "record", "-s", "mcap", "-o", bag, "/joint_states", "/episode"], command(rec)

# collect_demos, sim mode: ndp collect with the shipped config.
(col,) = actions("collect_demos.launch.py", mode="sim", out=bag, episodes="12")
run(command(col))
info = json.loads(run([NDP, "bag", "info", bag, "--json"]))
assert {t["name"] for t in info["topics"]} >= {"/joint_states", "/ndp/observation", "/ndp/episode"}, info

# train_bc on that bag.
(bc,) = actions("train_bc.launch.py", data=bag, out=run_dir, epochs="2")
run(command(bc))
assert os.path.exists(os.path.join(run_dir, "model.safetensors"))

# train_ppo on the built-in reach task, one update.
(ppo,) = actions("train_ppo.launch.py", out=ppo_dir, steps="1600", kind="ppo-multi")
run(command(ppo))
assert open(os.path.join(ppo_dir, "latest")).read().startswith("ckpt-")

# train_ppo with bridges started by the launch file: the bridge commands.
acts = actions("train_ppo.launch.py", bridges="2", env_name="reach-v3", python="python3")
cmds = [command(a) for a in acts]
assert len(cmds) == 3 and cmds[0][0] == "python3" and cmds[0][1].endswith("bridges/mujoco/bridge.py"), cmds
assert "/tmp/ndp-launch-1.sock" in cmds[1] and "reach-v3" in cmds[1], cmds
# train_ppo_gazebo: gz sim, ros_gz_bridge and the trainer (Gazebo cannot run here: the
# commands are checked, and the bridge config must carry every topic the trainer config uses).
gz, bridge_node, trainer = actions("train_ppo_gazebo.launch.py", out=os.path.join(TMP, "gz"))
assert command(gz)[:4] == ["gz", "sim", "-r", "-s"] and os.path.exists(command(gz)[4]), command(gz)
assert bridge_node.k["package"] == "ros_gz_bridge" and bridge_node.k["executable"] == "parameter_bridge"
bridge_file = bridge_node.k["parameters"][0]["config_file"]
trainer_cmd = command(trainer)
ppo_config = trainer_cmd[trainer_cmd.index("--config") + 1]


def yaml_load(path):
    # PyYAML if this Python has it, else ruamel.yaml from the test venv (scripts/setup.sh).
    try:
        import yaml
        return yaml.safe_load(open(path))
    except ImportError:
        code = "import json,sys; from ruamel.yaml import YAML; print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))"
        return json.loads(run([os.path.join(ROOT, ".venv", "bin", "python"), "-c", code, path]))


bridged = {(e["ros_topic_name"], e["ros_type_name"], e["direction"]) for e in yaml_load(bridge_file)}
gzcfg = yaml_load(ppo_config)["env"]["gazebo"]
want = {(gzcfg["joint_states"], "sensor_msgs/msg/JointState", "GZ_TO_ROS")}
want |= {(gzcfg["command"].replace("{joint}", j), "std_msgs/msg/Float64", "ROS_TO_GZ") for j in gzcfg["joints"]}
assert want <= bridged, f"topics the trainer uses but the bridge does not carry: {want - bridged}"
print("launch files ok")
