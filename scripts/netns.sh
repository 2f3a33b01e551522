#!/usr/bin/env bash
# Runs a command so that nothing it does can leave this machine (the project's network rule):
# as root, in a fresh network namespace whose only interface is `lo`; otherwise as it is (the
# ROS participants are then loopback-only through ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST,
# scripts/ros_env.sh). NDP_NO_NETNS=1 skips the namespace.
#   bash scripts/netns.sh CMD [ARGS...]
set -euo pipefail
if [ "$(id -u)" = 0 ] && [ -z "${NDP_NO_NETNS:-}" ] && command -v ip >/dev/null \
  && unshare -n true 2>/dev/null; then
  exec unshare -n bash -c 'ip link set lo up && exec "$@"' scripts/netns.sh "$@"
fi
exec "$@"
