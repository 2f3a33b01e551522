"""`launch` and `launch_ros` stand-ins that record what a launch file would start, so that the
package's launch files run without ROS (test/launch/check_launch.py runs their commands,
test/ros_names.py checks their names). Each stand-in keeps its arguments in `.a` / `.k`."""
import importlib.util
import os
import sys
import types


class Sub:
    def __init__(self, *a, **k):
        self.a, self.k = a, k


def install(root):
    """Puts the stand-ins in sys.modules; FindPackageShare("ndp_ros") resolves to `root` (the
    installed share/ndp_ros holds launch/, config/, bridges/ as the source tree does)."""

    class LaunchConfiguration(Sub):
        def perform(self, ctx):
            return ctx[self.a[0]]

    class FindPackageShare(Sub):
        def perform(self, ctx):
            assert self.a[0] == "ndp_ros", self.a[0]
            return root

    class PathJoinSubstitution(Sub):
        def perform(self, ctx):
            return os.path.join(*[p.perform(ctx) if hasattr(p, "perform") else p for p in self.a[0]])

    mods = {}
    for name in ["launch", "launch.actions", "launch.substitutions", "launch_ros",
                 "launch_ros.actions", "launch_ros.substitutions"]:
        mods[name] = sys.modules[name] = types.ModuleType(name)
    mods["launch"].LaunchDescription = lambda items: items
    for cls in ["DeclareLaunchArgument", "ExecuteProcess", "OpaqueFunction"]:
        setattr(mods["launch.actions"], cls, type(cls, (Sub,), {}))
    mods["launch.substitutions"].LaunchConfiguration = LaunchConfiguration
    mods["launch.substitutions"].PathJoinSubstitution = PathJoinSubstitution
    mods["launch_ros.actions"].Node = type("Node", (Sub,), {})
    mods["launch_ros.substitutions"].FindPackageShare = FindPackageShare
    sys.modules.pop("ndp_launch", None)  # the launch files' shared module, on these stand-ins


def description(path):
    """The items of a launch file's generate_launch_description() (stand-ins installed)."""
    spec = importlib.util.spec_from_file_location("launch_file", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.generate_launch_description()
