# The ROS 2 Jazzy of .venv-ros (scripts/setup_ros.sh) for this shell: `source scripts/ros_env.sh`
# (bash or zsh; from any directory; sourcing it again changes nothing). Sets
#   AMENT_PREFIX_PATH, CMAKE_PREFIX_PATH  the venv, a ROS prefix (share/ament_index, lib/, include/)
#   LD_LIBRARY_PATH     the venv's lib/ and the wheels' bundled libraries (site-packages/ros_*.libs)
#   ROS_DISTRO=jazzy, ROS_VERSION=2, ROS_PYTHON_VERSION=3, RMW_IMPLEMENTATION=rmw_fastrtps_cpp
#   IDL_PACKAGE_FILTER  the message packages r2r generates bindings for (it would otherwise
#                       generate every package in the prefix): the ones the node uses and what
#                       they need; a value already set is kept
#   ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST  discovery stays on this machine (the project's
#                       network rule; set it to SUBNET yourself, after sourcing, to reach a robot)
#   NDP_ROS_PREFIX      the venv (absolute)
#   NDP_ROS_LIBPYTHON   libpython3.11.so.1.0: rcl loads *__rosidl_generator_py.so, which need
#                       libpython's symbols, so a plain binary (ndp_policy built with r2r) runs as
#                       LD_PRELOAD="$NDP_ROS_LIBPYTHON" target/debug/ndp_policy ...
# Python: run .venv-ros/bin/python (PYTHONPATH is not needed; PATH is left alone).
# Changes no shell option of the caller; returns 1 (and sets nothing) without .venv-ros.

_ndp_ros_env() {
  local here venv py libs d lib
  if [ -n "${BASH_VERSION:-}" ]; then
    here="${BASH_SOURCE[0]}"
  elif [ -n "${ZSH_VERSION:-}" ]; then
    eval 'here="${(%):-%x}"; setopt localoptions nullglob'
  else
    here="scripts/ros_env.sh"
  fi
  venv="$(cd "$(dirname "$here")/.." && pwd)/.venv-ros"
  py="$venv/lib/python3.11/site-packages"
  if [ ! -x "$venv/bin/python" ] || [ ! -d "$py/rclpy" ]; then
    echo "ros_env: no ROS 2 in $venv: run bash scripts/setup_ros.sh first" >&2
    return 1
  fi

  # Prepends $2 to the path list variable $1 unless it is there already.
  _ndp_ros_prepend() {
    local cur
    eval "cur=\"\${$1:-}\""
    case ":$cur:" in
      *":$2:"*) ;;
      *) if [ -n "$cur" ]; then eval "export $1=\"\$2:\$cur\""; else eval "export $1=\"\$2\""; fi ;;
    esac
  }

  _ndp_ros_prepend AMENT_PREFIX_PATH "$venv"
  _ndp_ros_prepend CMAKE_PREFIX_PATH "$venv"
  # Quirk 2: the wheels' own copies of third-party libraries (auditwheel) sit beside the
  # packages, not in lib/.
  for d in "$py"/ros_*.libs; do
    [ -d "$d" ] && _ndp_ros_prepend LD_LIBRARY_PATH "$d"
  done
  _ndp_ros_prepend LD_LIBRARY_PATH "$venv/lib"
  unset -f _ndp_ros_prepend

  export ROS_DISTRO=jazzy ROS_VERSION=2 ROS_PYTHON_VERSION=3
  export RMW_IMPLEMENTATION=rmw_fastrtps_cpp
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  # r2r adds rcl_interfaces, builtin_interfaces, unique_identifier_msgs and action_msgs itself;
  # ndp_ros_msgs counts once its interface package is in the prefix.
  export IDL_PACKAGE_FILTER="${IDL_PACKAGE_FILTER:-std_msgs;builtin_interfaces;sensor_msgs;geometry_msgs;trajectory_msgs;rosgraph_msgs;rcl_interfaces;ndp_ros_msgs}"
  export NDP_ROS_PREFIX="$venv"

  # Quirk 3: the libpython the venv's Python was built with (the ROS wheels' bootstrapper would
  # re-exec the interpreter; the guard variable skips that for this one question).
  lib="$(_ROS_WHEELS_BOOTSTRAP_COMPLETE=1 "$venv/bin/python" -c 'import os, sysconfig as s; print(os.path.join(s.get_config_var("LIBDIR") or "", s.get_config_var("INSTSONAME") or ""))' 2>/dev/null || true)"
  if [ ! -f "$lib" ]; then
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
      [ -f "$d/libpython3.11.so.1.0" ] && { lib="$d/libpython3.11.so.1.0"; break; }
    done
  fi
  if [ -f "$lib" ]; then
    export NDP_ROS_LIBPYTHON="$lib"
  else
    echo "ros_env: libpython3.11.so.1.0 not found (r2r binaries will not load)" >&2
  fi
  return 0
}
# The status of the set-up is the status of `source`.
_ndp_ros_env
eval "unset -f _ndp_ros_env; return $?"
