"""Writes bare MCAP files with compressed chunks using the independent PyPI package `mcap`
(rosbags does not compress MCAP chunks), for test/bag.rs. The CDR payloads and message
definitions come from `rosbags` (Jazzy).

usage: write_mcap_chunks.py OUT_DIR
Makes OUT_DIR/lz4.mcap, OUT_DIR/zstd.mcap and OUT_DIR/none.mcap (uncompressed) with the same messages as write_bags.py (50
JointState on /joint_states, 5 String on /marker), in 1 KiB chunks (several per file).
"""

import sys
from pathlib import Path

from mcap.writer import CompressionType, Writer
from rosbags.typesys import Stores, get_typestore
from write_bags import joint_state  # same directory: the same messages


def write(path: Path, compression: CompressionType) -> None:
    ts = get_typestore(Stores.ROS2_JAZZY)
    JointState = ts.types["sensor_msgs/msg/JointState"]
    String = ts.types["std_msgs/msg/String"]
    with open(path, "wb") as f:
        w = Writer(f, chunk_size=1024, compression=compression)
        w.start(profile="ros2", library="write_mcap_chunks.py")
        channels = {}
        for topic, name in [("/joint_states", "sensor_msgs/msg/JointState"), ("/marker", "std_msgs/msg/String")]:
            schema = w.register_schema(name=name, encoding="ros2msg", data=ts.generate_msgdef(name)[0].encode())
            channels[topic] = w.register_channel(topic=topic, message_encoding="cdr", schema_id=schema)
        for i in range(50):
            t = (1000 + i) * 1_000_000_000
            data = bytes(ts.serialize_cdr(joint_state(ts, i), JointState.__msgtype__))
            w.add_message(channel_id=channels["/joint_states"], log_time=t, publish_time=t, data=data)
            if i % 10 == 0:
                s = bytes(ts.serialize_cdr(String(data=f"episode {i // 10}"), String.__msgtype__))
                w.add_message(channel_id=channels["/marker"], log_time=t + 1, publish_time=t + 1, data=s)
        w.finish()


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write(out / "lz4.mcap", CompressionType.LZ4)
    write(out / "zstd.mcap", CompressionType.ZSTD)
    write(out / "none.mcap", CompressionType.NONE)
