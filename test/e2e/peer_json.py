"""What the end-to-end peers print of a received command, whichever DDS library decoded it
(Cyclone's IdlStruct in ros2_peer.py, rclpy's messages in rclpy_e2e_peer.py: the fields have the
same names): one JSON-ready dict, after the structural checks every peer makes."""


def trajectory(m, joints):
    """trajectory_msgs/JointTrajectory; ValueError when its structure is wrong."""
    if list(m.joint_names) != joints:
        raise ValueError(f"joint_names {list(m.joint_names)} != {joints}")
    pts = [{"positions": list(p.positions), "velocities": list(p.velocities),
            "t": p.time_from_start.sec + p.time_from_start.nanosec * 1e-9} for p in m.points]
    if any(len(p["positions"]) != len(joints) for p in pts):
        raise ValueError("point with the wrong number of positions")
    ts = [p["t"] for p in pts]
    if ts != sorted(ts) or ts[0] <= 0:
        raise ValueError(f"time_from_start not increasing: {ts}")
    return {"type": "JointTrajectory", "points": pts}


def pose(m):
    """geometry_msgs/PoseStamped."""
    q, p = m.pose.orientation, m.pose.position
    return {"type": "PoseStamped", "frame_id": m.header.frame_id,
            "position": [p.x, p.y, p.z], "orientation": [q.x, q.y, q.z, q.w]}
