"""rosbags reading and decoding every message of a bag (the reference for `ndp bench bag`):
one warm pass, one timed pass; prints one JSON object."""

import json
import sys
import time
from pathlib import Path

from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore


def read(path):
    n = 0
    size = 0
    t0 = time.perf_counter()
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        for conn, _, raw in reader.messages():
            reader.deserialize(raw, conn.msgtype)
            n += 1
            size += len(raw)
    return n, size, time.perf_counter() - t0


path = Path(sys.argv[1])
read(path)
n, size, secs = read(path)
print(json.dumps({"messages": n, "seconds": secs, "messages_per_s": n / secs, "mb_per_s": size / secs / 1e6}))
