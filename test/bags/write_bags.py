"""Writes rosbag2 bags with the independent PyPI implementation `rosbags`, for test/bag.rs.

usage: write_bags.py OUT_DIR
Makes OUT_DIR/humble_sqlite (sqlite3 storage, Humble definitions) and OUT_DIR/jazzy_mcap (MCAP
storage, Jazzy definitions), each with 50 JointState messages on /joint_states and 5 String
messages on /marker. Message i of /joint_states: stamp (1000 + i) s + 7 ns, names j1..j3,
positions [0.1 i, -0.2 i, 0.5], velocities [i, 0, -i], no effort, logged at (1000 + i) s.
"""

import sys
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore


def joint_state(ts, i: int):
    """Message i of /joint_states (the docstring above gives its fields)."""
    t = ts.types
    return t["sensor_msgs/msg/JointState"](
        header=t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=1000 + i, nanosec=7), frame_id="base"),
        name=["j1", "j2", "j3"],
        position=np.array([0.1 * i, -0.2 * i, 0.5]),
        velocity=np.array([float(i), 0.0, -float(i)]),
        effort=np.array([], dtype=np.float64),
    )


def write(path: Path, store: Stores, plugin: StoragePlugin) -> None:
    ts = get_typestore(store)
    JointState = ts.types["sensor_msgs/msg/JointState"]
    String = ts.types["std_msgs/msg/String"]
    with Writer(path, version=8, storage_plugin=plugin) as w:
        js = w.add_connection("/joint_states", JointState.__msgtype__, typestore=ts)
        mk = w.add_connection("/marker", String.__msgtype__, typestore=ts)
        for i in range(50):
            t = (1000 + i) * 1_000_000_000
            msg = joint_state(ts, i)
            w.write(js, t, ts.serialize_cdr(msg, JointState.__msgtype__))
            if i % 10 == 0:
                w.write(mk, t + 1, ts.serialize_cdr(String(data=f"episode {i // 10}"), String.__msgtype__))


if __name__ == "__main__":
    out = Path(sys.argv[1])
    write(out / "humble_sqlite", Stores.ROS2_HUMBLE, StoragePlugin.SQLITE3)
    write(out / "jazzy_mcap", Stores.ROS2_JAZZY, StoragePlugin.MCAP)
