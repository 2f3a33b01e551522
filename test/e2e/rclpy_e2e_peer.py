"""An rclpy peer (ROS 2 Jazzy, Fast DDS) for test/e2e_rclpy.rs: the same scenarios as the Cyclone
DDS peer (ros2_peer.py), on the real ROS 2 client library, against either of the node's
transports. It publishes sensor_msgs/JointState (joints out of controller order) or
geometry_msgs/PoseStamped, optionally sensor_msgs/Image (rgb8 of any size, best effort or
reliable), receives what ndp_policy publishes (JointTrajectory, Float64MultiArray or
PoseStamped, and ndp_ros_msgs/DmpPlan with --plan), checks the structure, and prints each
message as one JSON line on stdout; the numbers are checked by the Rust test against the node's
logic run offline.

Needs .venv-ros and the colcon workspace's install/setup.bash sourced (ndp_ros_msgs' Python
bindings): scripts/test_r2r.sh does both.
"""
import argparse
import json
import sys
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy, HistoryPolicy, DurabilityPolicy
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

import peer_json


def qos(reliable, depth=10):
    return QoSProfile(
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        history=HistoryPolicy.KEEP_LAST, depth=depth, durability=DurabilityPolicy.VOLATILE)


def fail(msg):
    print(json.dumps({"error": msg}), flush=True)
    sys.exit(1)


def pattern(w, h):
    """The test image: byte (x * 4 + y * 2 + c * 50) % 256 at column x, row y, channel c."""
    y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing="ij")
    return ((x * 4 + y * 2 + c * 50) % 256).astype(np.uint8).tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", type=int, required=True)
    ap.add_argument("--output", choices=["joint_trajectory", "float64_array", "pose"], required=True)
    ap.add_argument("--joints", default="j1,j2,j3")
    ap.add_argument("--positions", default="0.1,0.2,0.3")
    ap.add_argument("--image", default="", help="WxH: also publish an rgb8 image of that size")
    ap.add_argument("--image-reliable", action="store_true", help="the image publisher reliable (else best effort)")
    ap.add_argument("--plan", action="store_true", help="also take ndp_ros_msgs/DmpPlan on /ndp_policy/dmp_plan")
    ap.add_argument("--want", type=int, default=3, help="commands to receive before stopping")
    ap.add_argument("--timeout", type=float, default=40.0)
    a = ap.parse_args()

    rclpy.init(args=["--ros-args", "-r", "__node:=e2e_peer"], domain_id=a.domain)
    node = rclpy.create_node("e2e_peer")
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    order = list(reversed(range(len(joints))))  # controller order reversed: the node reorders
    js_pub = node.create_publisher(JointState, "joint_states", qos(True))
    pose_pub = node.create_publisher(PoseStamped, "ee_pose", qos(True))
    img_pub = node.create_publisher(Image, "camera/image_raw", qos(a.image_reliable, 5))

    lines = []
    got = {"n": 0, "plans": 0}

    def on_trajectory(m):
        try:
            lines.append(peer_json.trajectory(m, joints))
        except ValueError as e:
            fail(str(e))
        got["n"] += 1

    def on_array(m):
        if len(m.data) != len(joints):
            fail(f"Float64MultiArray of {len(m.data)} values for {len(joints)} joints")
        lines.append({"type": "Float64MultiArray", "data": list(m.data)})
        got["n"] += 1

    def on_pose(m):
        lines.append(peer_json.pose(m))
        got["n"] += 1

    def on_plan(m):
        lines.append({"type": "DmpPlan", "joint_names": list(m.joint_names), "y0": list(m.y0),
                      "dy0": list(m.dy0), "g": list(m.g), "w": list(m.w), "n_basis": m.n_basis,
                      "k": m.k, "a_z": m.a_z, "a_x": m.a_x, "dt": m.dt,
                      "stamp": m.header.stamp.sec + m.header.stamp.nanosec * 1e-9})
        got["plans"] += 1

    if a.output == "joint_trajectory":
        node.create_subscription(JointTrajectory, "joint_trajectory_controller/joint_trajectory", on_trajectory, qos(True))
    elif a.output == "float64_array":
        node.create_subscription(Float64MultiArray, "forward_position_controller/commands", on_array, qos(True, 100))
    else:
        node.create_subscription(PoseStamped, "servo_node/pose_target_cmds", on_pose, qos(True, 100))
    if a.plan:
        from ndp_ros_msgs.msg import DmpPlan
        node.create_subscription(DmpPlan, "/ndp_policy/dmp_plan", on_plan, qos(True))

    img = None
    if a.image:
        w, h = (int(v) for v in a.image.split("x"))
        img = Image(height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3)
        img.header.frame_id = "camera"
        img.data = pattern(w, h)

    deadline = time.time() + a.timeout
    while (got["n"] < a.want or (a.plan and got["plans"] < 1)) and time.time() < deadline:
        now = node.get_clock().now().to_msg()
        if a.output == "pose":
            p = PoseStamped()
            p.header.stamp, p.header.frame_id = now, "base"
            p.pose.position.x, p.pose.position.y, p.pose.position.z = pos[:3]
            p.pose.orientation.w = 1.0
            pose_pub.publish(p)
        else:
            js = JointState(name=[joints[i] for i in order], position=[pos[i] for i in order])
            js.header.stamp = now
            js_pub.publish(js)
        if img is not None:
            img.header.stamp = now
            img_pub.publish(img)
        rclpy.spin_once(node, timeout_sec=0.02)
    for line in lines:
        print(json.dumps(line), flush=True)
    if got["n"] < a.want or (a.plan and got["plans"] < 1):
        fail(f"received {got['n']} of {a.want} commands and {got['plans']} plans in {a.timeout} s")
    print(json.dumps({"done": got["n"]}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
