"""Every ROS name the package ships is a valid ROS 2 name, by rclpy's own validation (rcl and
rmw underneath): the topics, namespaces and node names in config/*.yaml, the ROS side of the
bridge configs (bridges/**: ros_gz_bridge's ros_topic_name; its gz_topic_name is a gz name, not
checked), the parameter files (their node keys and *_topic parameters) and the launch files
(topic arguments' defaults, and the nodes they start: name, namespace, remaps, *_topic
parameters). A relative name is expanded (rclpy.expand_topic_name) under a stand-in node, then
validated as a fully qualified name.

Then a self-test: the same collector over a scratch tree with planted bad names (gz's
/model/gantry/joint/x/0/cmd_pos as a ROS topic among them) must find each one, and must leave
gz_topic_name alone.

Usage: .venv-ros/bin/python test/ros_names.py [-v] [--root DIR]   (bash scripts/test.sh runs
it, after scripts/setup_ros.sh)
"""
import os
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch"))
import launch_stubs  # noqa: E402
from rclpy.exceptions import (InvalidNamespaceException, InvalidNodeNameException,
                              InvalidTopicNameException)
from rclpy.expand_topic_name import expand_topic_name
from rclpy.validate_full_topic_name import validate_full_topic_name
from rclpy.validate_namespace import validate_namespace
from rclpy.validate_node_name import validate_node_name
from rclpy.validate_topic_name import validate_topic_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVALID = (InvalidTopicNameException, InvalidNamespaceException, InvalidNodeNameException)
# The stand-in node that relative and private names are expanded under.
NODE, NS = "ndp_node", "/"


class Name:
    """One ROS name found in a shipped file: `kind` is topic, namespace, node or params_key."""

    def __init__(self, kind, value, file, key, node=NODE, ns=NS):
        self.kind, self.value, self.file, self.key, self.node, self.ns = kind, value, file, key, node, ns

    def error(self):
        """None if valid, else rclpy's reason (first line)."""
        try:
            check(self)
        except INVALID as e:
            return str(e).splitlines()[0]
        return None

    def __str__(self):
        return f"{self.file}: {self.key}: {self.kind} {self.value!r}"


def absolute_ns(ns):
    return ns if ns.startswith("/") else "/" + ns


def context(node, ns):
    """The node and namespace to expand a topic under: the given ones where valid (an invalid
    one is reported by its own entry), else the stand-ins."""
    try:
        validate_node_name(node)
    except INVALID:
        node = NODE
    try:
        ns = absolute_ns(ns or "/")
        validate_namespace(ns)
    except INVALID:
        ns = NS
    return node, ns


def check(n):
    if n.kind == "topic":
        validate_topic_name(n.value)
        validate_full_topic_name(expand_topic_name(n.value, *context(n.node, n.ns)))
    elif n.kind == "namespace":
        validate_namespace(absolute_ns(n.value))
    elif n.kind == "node":
        validate_node_name(n.value)
    elif n.kind == "params_key":
        # rcl's parameter-file node keys: /**, /*, [/ns/...]node, with `*` / `**` wildcards.
        tokens = n.value.strip("/").split("/")
        if tokens[-1] not in ("*", "**"):
            validate_node_name(tokens[-1])
        ns = [t for t in tokens[:-1] if t not in ("*", "**")]
        if ns:
            validate_namespace("/" + "/".join(ns))
    else:
        raise AssertionError(n.kind)


# --- configs, parameter files and bridge configs -----------------------------------------------

def is_topic_key(key):
    return key == "topic" or key.endswith("_topic")


def yaml_names(path, rel):
    doc = yaml.safe_load(open(path))
    out, gz = [], []
    if isinstance(doc, list) and doc and all(isinstance(e, dict) for e in doc) \
            and any("ros_topic_name" in e or "topic_name" in e for e in doc):
        # ros_gz_bridge config: ros_topic_name is ROS's, gz_topic_name gz's; topic_name is both.
        for i, e in enumerate(doc):
            for k in ("ros_topic_name", "topic_name"):
                if k in e:
                    out.append(Name("topic", e[k], rel, f"[{i}].{k}"))
            if "gz_topic_name" in e:
                gz.append(e["gz_topic_name"])
        return out, gz
    if isinstance(doc, dict) and any(isinstance(v, dict) and "ros__parameters" in v for v in doc.values()):
        # A parameter file: node keys, and the *_topic parameters of each node.
        for key, v in doc.items():
            out.append(Name("params_key", key, rel, key))
            tokens = key.strip("/").split("/")
            node = tokens[-1] if tokens[-1] not in ("*", "**") else NODE
            for pk, pv in (v.get("ros__parameters") or {}).items():
                if is_topic_key(pk) and isinstance(pv, str):
                    out.append(Name("topic", pv, rel, f"{key}.ros__parameters.{pk}", node=node))
        return out, gz
    walk(doc, "", rel, out)
    return out, gz


def walk(doc, path, rel, out):
    """A config's ROS names: *_topic and topic keys, topics lists, namespace keys, and the
    Gazebo task's topics (env.gazebo: joint_states, command per joint, under its namespace)."""
    if isinstance(doc, list):
        for i, v in enumerate(doc):
            walk(v, f"{path}[{i}]", rel, out)
        return
    if not isinstance(doc, dict):
        return
    if path.endswith("env.gazebo") or path == "gazebo":
        gazebo_names(doc, path, rel, out)
        return
    for k, v in doc.items():
        key = f"{path}.{k}" if path else str(k)
        if isinstance(v, str) and is_topic_key(str(k)) and v:
            out.append(Name("topic", v.replace("{i}", "0"), rel, key))
        elif k == "topics" and isinstance(v, (list, str)):
            for t in (v.split() if isinstance(v, str) else v):
                out.append(Name("topic", t, rel, key))
        elif k == "namespace" and isinstance(v, str) and v:
            out.append(Name("namespace", v.replace("{i}", "0"), rel, key))
        else:
            walk(v, key, rel, out)


def gazebo_names(g, path, rel, out):
    ns = (g.get("namespace") or "").replace("{i}", "0")
    if ns:
        out.append(Name("namespace", ns.rstrip("/") or "/", rel, f"{path}.namespace"))

    def under(t):
        return f"{ns.rstrip('/')}/{t.lstrip('/')}" if ns.rstrip("/") else t

    out.append(Name("topic", under(g.get("joint_states", "/joint_states")), rel, f"{path}.joint_states"))
    for j in g.get("joints") or []:
        out.append(Name("topic", under(g["command"].replace("{joint}", str(j))), rel,
                        f"{path}.command (joint {j})"))
    for k, v in g.items():
        if is_topic_key(k) and isinstance(v, str) and v:
            out.append(Name("topic", under(v), rel, f"{path}.{k}"))


# --- launch files ------------------------------------------------------------------------------

# Argument values that reach more of a launch file's actions than its defaults do.
LAUNCH_VARIANTS = {
    "collect_demos.launch.py": [{"mode": "sim"}],
    "train_ppo.launch.py": [{"bridges": "1"}],
}


def launch_names(path, rel, root):
    launch_stubs.install(root)
    items = launch_stubs.description(path)
    defaults = {}
    out = []
    for it in items:
        if type(it).__name__ != "DeclareLaunchArgument":
            continue
        arg, default = it.a[0], it.k.get("default_value")
        defaults[arg] = default
        if isinstance(default, str) and default:
            if is_topic_key(arg):
                out.append(Name("topic", default, rel, f"argument {arg} (default)"))
            elif arg == "topics":
                out += [Name("topic", t, rel, f"argument {arg} (default)") for t in default.split()]
            elif arg == "namespace":
                out.append(Name("namespace", default, rel, f"argument {arg} (default)"))
    for variant in [{}] + LAUNCH_VARIANTS.get(os.path.basename(path), []):
        ctx = {k: ("required" if v is None else v) for k, v in defaults.items()}
        ctx.update(variant)
        for it in items:
            if type(it).__name__ != "OpaqueFunction":
                continue
            for action in it.k["function"](ctx):
                if type(action).__name__ == "Node":
                    out += node_names(action.k, rel)
    return out


def node_names(k, rel):
    name, ns = k.get("name"), k.get("namespace") or ""
    where = f"Node {name or k.get('executable')}"
    out = []
    if name:
        out.append(Name("node", name, rel, f"{where} name"))
    if ns:
        out.append(Name("namespace", ns, rel, f"{where} namespace"))
    node = name or NODE
    for frm, to in k.get("remappings") or []:
        out.append(Name("topic", frm, rel, f"{where} remap from", node=node, ns=ns or "/"))
        out.append(Name("topic", to, rel, f"{where} remap to", node=node, ns=ns or "/"))
    for p in k.get("parameters") or []:
        if isinstance(p, dict):
            for pk, pv in p.items():
                if is_topic_key(pk) and isinstance(pv, str) and pv:
                    out.append(Name("topic", pv, rel, f"{where} parameter {pk}", node=node, ns=ns or "/"))
    return out


# --- the tree ----------------------------------------------------------------------------------

def collect(root):
    """(names, gz names left alone) of every shipped file under `root`."""
    names, gz = [], []
    files = sorted(os.path.join("config", f) for f in os.listdir(os.path.join(root, "config"))
                   if f.endswith((".yaml", ".yml")))
    for d, _, fs in sorted(os.walk(os.path.join(root, "bridges"))):
        files += sorted(os.path.relpath(os.path.join(d, f), root) for f in fs if f.endswith((".yaml", ".yml")))
    for rel in files:
        n, g = yaml_names(os.path.join(root, rel), rel)
        names += n
        gz += g
    for f in sorted(os.listdir(os.path.join(root, "launch"))):
        if f.endswith(".launch.py"):  # not their shared module, ndp_launch.py
            rel = os.path.join("launch", f)
            names += launch_names(os.path.join(root, rel), rel, root)
    seen, unique = set(), []
    for n in names:
        if (n.kind, n.value, n.file, n.key) not in seen:
            seen.add((n.kind, n.value, n.file, n.key))
            unique.append(n)
    return unique, gz


def problems(names):
    return [(n, e) for n in names for e in [n.error()] if e]


def self_test():
    """Planted bad names must each be found; gz names must not be checked."""
    tmp = tempfile.mkdtemp(prefix="ros_names_")
    try:
        for d in ("config", "bridges/gazebo", "launch"):
            os.makedirs(os.path.join(tmp, d))
        with open(os.path.join(tmp, "config", "ppo.yaml"), "w") as f:
            f.write("env:\n  task: gazebo\n  gazebo:\n    namespace: ''\n    joints: [x, y]\n"
                    "    joint_states: /joint_states\n    command: /model/gantry/joint/{joint}/0/cmd_pos\n"
                    "bag_data:\n  state_topic: /joint_states\n  observation_topic: /camera/1image\n"
                    "  episodes:\n    marker_topic: ndp/episode\n")
        with open(os.path.join(tmp, "config", "params.yaml"), "w") as f:
            f.write("/robot/2nd_arm:\n  ros__parameters:\n    image_topic: camera/image raw\n"
                    "    frame_id: /0/not_a_ros_name\n"
                    "/**:\n  ros__parameters:\n    command_topic: ~/cmd\n")
        with open(os.path.join(tmp, "bridges", "gazebo", "bridge.yaml"), "w") as f:
            f.write("- ros_topic_name: /model/gantry/joint/x/0/cmd_pos\n  gz_topic_name: /model/gantry/joint/x/0/cmd_pos\n"
                    "- ros_topic_name: /model/gantry/joint/y/cmd_pos\n  gz_topic_name: /model/gantry/joint/y/0/cmd_pos\n"
                    "- topic_name: /world/0/clock\n")
        with open(os.path.join(tmp, "launch", "bad.launch.py"), "w") as f:
            f.write("from launch import LaunchDescription\n"
                    "from launch.actions import DeclareLaunchArgument, OpaqueFunction\n"
                    "from launch_ros.actions import Node\n"
                    "def _n(ctx):\n"
                    "    return [Node(package='p', executable='e', name='policy-1', namespace=ctx['namespace'],\n"
                    "                 remappings=[('joint_states', '/arm/3/joint_states')],\n"
                    "                 parameters=[{'ee_pose_topic': 'ee pose'}])]\n"
                    "def generate_launch_description():\n"
                    "    return LaunchDescription([DeclareLaunchArgument('image_topic', default_value='/cam/0/image'),\n"
                    "        DeclareLaunchArgument('namespace', default_value='robot/1'),\n"
                    "        OpaqueFunction(function=_n)])\n")
        names, gz = collect(tmp)
        found = {(n.file, n.key, n.value) for n, _ in problems(names)}
        want = {
            ("config/ppo.yaml", "env.gazebo.command (joint x)", "/model/gantry/joint/x/0/cmd_pos"),
            ("config/ppo.yaml", "env.gazebo.command (joint y)", "/model/gantry/joint/y/0/cmd_pos"),
            ("config/ppo.yaml", "bag_data.observation_topic", "/camera/1image"),
            ("config/params.yaml", "/robot/2nd_arm", "/robot/2nd_arm"),
            ("config/params.yaml", "/robot/2nd_arm.ros__parameters.image_topic", "camera/image raw"),
            ("bridges/gazebo/bridge.yaml", "[0].ros_topic_name", "/model/gantry/joint/x/0/cmd_pos"),
            ("bridges/gazebo/bridge.yaml", "[2].topic_name", "/world/0/clock"),
            ("launch/bad.launch.py", "argument image_topic (default)", "/cam/0/image"),
            ("launch/bad.launch.py", "argument namespace (default)", "robot/1"),
            ("launch/bad.launch.py", "Node policy-1 name", "policy-1"),
            ("launch/bad.launch.py", "Node policy-1 namespace", "robot/1"),
            ("launch/bad.launch.py", "Node policy-1 remap to", "/arm/3/joint_states"),
            ("launch/bad.launch.py", "Node policy-1 parameter ee_pose_topic", "ee pose"),
        }
        assert found == want, f"self-test: missed {want - found}, unexpected {found - want}"
        checked = {n.value for n in names}
        assert {"/joint_states", "ndp/episode", "~/cmd", "/model/gantry/joint/y/cmd_pos",
                "joint_states"} <= checked, checked
        assert "/0/not_a_ros_name" not in checked, "frame_id is not a ROS name"
        assert gz == ["/model/gantry/joint/x/0/cmd_pos", "/model/gantry/joint/y/0/cmd_pos"], gz
        return len(want)
    finally:
        shutil.rmtree(tmp)


def main():
    verbose = "-v" in sys.argv[1:]
    # --root DIR: check another tree (e.g. an older revision's config/, bridges/, launch/).
    root = sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else ROOT
    names, gz = collect(root)
    # The collector must see what the package is known to ship (a collector that finds nothing
    # would pass everything).
    keys = {(n.file, n.key) for n in names}
    for want in [("config/ndp_policy.yaml", "/**"),
                 ("config/ppo_gazebo.yaml", "env.gazebo.command (joint x)"),
                 ("config/ppo_gazebo.yaml", "env.gazebo.joint_states"),
                 ("config/bc_reach_bag.yaml", "bag_data.episodes.marker_topic"),
                 ("bridges/gazebo/bridge.yaml", "[2].ros_topic_name"),
                 ("launch/collect_demos.launch.py", "argument topics (default)"),
                 ("launch/ndp_policy.launch.py", "Node ndp_policy name"),
                 ("launch/train_ppo_gazebo.launch.py", "Node ndp_gz_bridge name")]:
        assert want in keys, f"collector lost {want}: {sorted(keys)}"
    assert any(k[0] == "config/ndp_policy.yaml" and k[1].endswith("joint_state_topic") for k in keys), keys
    bad = problems(names)
    if verbose:
        for n in names:
            print(f"  {n}")
        for g in gz:
            print(f"  gz (not a ROS name, not checked): {g!r}")
    for n, e in bad:
        print(f"INVALID ROS NAME: {n}: {e}", file=sys.stderr)
    planted = self_test()
    files = len({n.file for n in names})
    print(f"ros_names: {len(names)} ROS names in {files} files checked with rclpy ({len(gz)} gz topic "
          f"names left to gz); self-test found all {planted} planted bad names")
    print(f"ros_names: {len(names) - len(bad)} passed, {len(bad)} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
