"""An independent ROS 2 peer for the end-to-end test: Eclipse Cyclone DDS (PyPI `cyclonedds`)
speaking ROS 2 type names and QoS, with no ROS install.

It publishes sensor_msgs/JointState (joints deliberately out of controller order) or
geometry_msgs/PoseStamped, optionally sensor_msgs/Image (best effort, as cameras do), receives
what ndp_policy publishes (trajectory_msgs/JointTrajectory or geometry_msgs/PoseStamped),
checks its structure, and prints every received message as one JSON line on stdout.
Run with CYCLONEDDS_URI pointing at a loopback-only configuration.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import dataclass

from cyclonedds.core import Policy, Qos
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl import types as t
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: t.int32
    nanosec: t.uint32


@dataclass
class Duration(IdlStruct, typename="builtin_interfaces::msg::dds_::Duration_"):
    sec: t.int32
    nanosec: t.uint32


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time
    frame_id: str


@dataclass
class JointState(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    header: Header
    name: t.sequence[str]
    position: t.sequence[t.float64]
    velocity: t.sequence[t.float64]
    effort: t.sequence[t.float64]


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header
    height: t.uint32
    width: t.uint32
    encoding: str
    is_bigendian: t.uint8
    step: t.uint32
    data: t.sequence[t.uint8]


@dataclass
class JointTrajectoryPoint(IdlStruct, typename="trajectory_msgs::msg::dds_::JointTrajectoryPoint_"):
    positions: t.sequence[t.float64]
    velocities: t.sequence[t.float64]
    accelerations: t.sequence[t.float64]
    effort: t.sequence[t.float64]
    time_from_start: Duration


@dataclass
class JointTrajectory(IdlStruct, typename="trajectory_msgs::msg::dds_::JointTrajectory_"):
    header: Header
    joint_names: t.sequence[str]
    points: t.sequence[JointTrajectoryPoint]


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: t.float64
    y: t.float64
    z: t.float64


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: t.float64
    y: t.float64
    z: t.float64
    w: t.float64


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point
    orientation: Quaternion


@dataclass
class PoseStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PoseStamped_"):
    header: Header
    pose: Pose


# std_msgs/Float64MultiArray as the MuJoCo bridge declares it (re-exported for attack_peer.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bridges", "mujoco"))
from ros_bridge import Float64MultiArray, MultiArrayDimension, MultiArrayLayout  # noqa: E402,F401
import peer_json  # noqa: E402


RELIABLE = Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(10),
               Policy.Durability.Volatile)
SENSOR = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(5), Policy.Durability.Volatile)


def stamp():
    ns = time.time_ns()
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def fail(msg):
    print(json.dumps({"error": msg}), flush=True)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", type=int, required=True)
    ap.add_argument("--scenario", choices=["joint_trajectory", "pose"], required=True)
    ap.add_argument("--joints", default="j1,j2,j3")
    ap.add_argument("--positions", default="0.1,0.2,0.3")
    ap.add_argument("--image", action="store_true")
    ap.add_argument("--want", type=int, default=3, help="messages to receive before stopping")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    dp = DomainParticipant(a.domain)
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    # Controller order reversed: the node must reorder by name.
    order = list(reversed(range(len(joints))))
    js_writer = DataWriter(dp, Topic(dp, "rt/joint_states", JointState), qos=RELIABLE)
    pose_writer = DataWriter(dp, Topic(dp, "rt/ee_pose", PoseStamped), qos=RELIABLE)
    img_writer = DataWriter(dp, Topic(dp, "rt/camera/image_raw", Image), qos=SENSOR)
    if a.scenario == "joint_trajectory":
        reader = DataReader(dp, Topic(dp, "rt/joint_trajectory_controller/joint_trajectory", JointTrajectory), qos=RELIABLE)
    else:
        reader = DataReader(dp, Topic(dp, "rt/servo_node/pose_target_cmds", PoseStamped), qos=RELIABLE)

    w, h = 64, 48
    img = Image(header=Header(stamp=stamp(), frame_id="camera"), height=h, width=w, encoding="rgb8",
                is_bigendian=0, step=w * 3,
                data=[(x * 4 + y * 2 + c * 50) % 256 for y in range(h) for x in range(w) for c in range(3)])
    got = 0
    deadline = time.time() + a.timeout
    while got < a.want and time.time() < deadline:
        if a.scenario == "joint_trajectory":
            js_writer.write(JointState(header=Header(stamp=stamp(), frame_id=""),
                                       name=[joints[i] for i in order], position=[pos[i] for i in order],
                                       velocity=[], effort=[]))
        else:
            pose_writer.write(PoseStamped(header=Header(stamp=stamp(), frame_id="base"),
                                          pose=Pose(position=Point(x=pos[0], y=pos[1], z=pos[2]),
                                                    orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0))))
        if a.image:
            img.header.stamp = stamp()
            img_writer.write(img)
        for m in reader.take(N=10):
            if a.scenario == "joint_trajectory":
                try:
                    line = peer_json.trajectory(m, joints)
                except ValueError as e:
                    fail(str(e))
            else:
                line = peer_json.pose(m)
            print(json.dumps(line), flush=True)
            got += 1
        time.sleep(0.02)
    if got < a.want:
        fail(f"received {got} of {a.want} messages in {a.timeout} s")
    print(json.dumps({"done": got}), flush=True)


if __name__ == "__main__":
    main()
