"""Reads a rosbag2 bag with the independent PyPI `rosbags` and prints one JSON line per message
(topic, type, log time, and the fields the test compares), then one line per schema check:
whether the bag's ros2msg definition of each standard type equals rosbags' own.

usage: read_bag.py BAG_DIR
"""

import json
import sys
from pathlib import Path

from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore


def plain(v):
    if hasattr(v, "__dataclass_fields__"):
        return {k: plain(getattr(v, k)) for k in v.__dataclass_fields__ if k != "__msgtype__"}
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


ts = get_typestore(Stores.ROS2_JAZZY)
with AnyReader([Path(sys.argv[1])], default_typestore=ts) as reader:
    for conn, t, raw in reader.messages():
        msg = reader.deserialize(raw, conn.msgtype)
        print(json.dumps({"topic": conn.topic, "type": conn.msgtype, "t": t, "msg": plain(msg)}))
    for conn in reader.connections:
        if conn.msgtype.startswith("ndp_ros_msgs/"):
            continue
        ours = conn.msgdef.data if hasattr(conn.msgdef, "data") else conn.msgdef
        theirs = ts.generate_msgdef(conn.msgtype, ros_version=2)[0]
        print(json.dumps({"schema": conn.msgtype, "equal": ours == theirs}))
