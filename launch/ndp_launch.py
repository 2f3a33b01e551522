"""What the package's launch files share: their argument declarations, ROS-style booleans and
the package's own files. The launch files import it as a sibling module (`ros2 launch` loads
a launch file with `__file__` set; the installed share/ndp_ros/launch holds this file too).
Not a launch file itself (no `.launch.py`)."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def ros_bool(name, value):
    """A boolean launch argument read as ROS and launch conditions read one: true / false (any
    case) or 1 / 0. Anything else is an error, never a silent false."""
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ValueError(f"{name}:={value!r}: expected true or false (or 1 / 0)")


def arg_getter(context):
    """name -> the launch argument's value."""
    return lambda name: LaunchConfiguration(name).perform(context)


def package_file(*parts):
    """A path in the installed ndp_ros package (share/ndp_ros/...), as a substitution."""
    return PathJoinSubstitution([FindPackageShare("ndp_ros"), *parts])


def package_path(context, *parts):
    """The same, resolved."""
    return package_file(*parts).perform(context)


def describe(args, actions, none_default=None):
    """The LaunchDescription: every argument of `args` ({name: (default, doc)}; a None default
    is `none_default`, or required when that is None too) declared, then `actions(context)`."""
    decls = []
    for name, (default, doc) in args.items():
        if default is None:
            default = none_default
        if default is None:
            decls.append(DeclareLaunchArgument(name, description=doc))
        else:
            decls.append(DeclareLaunchArgument(name, default_value=default, description=doc))
    return LaunchDescription(decls + [OpaqueFunction(function=actions)])
