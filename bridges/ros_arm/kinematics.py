"""The arm's geometry without MuJoCo (numpy only), for whatever must reason about it outside
the simulator: the expert's inverse kinematics, forward kinematics, the minimum-jerk motion,
and the overhead camera's projection (scripts/journey_report.py draws plans on camera frames).
Link lengths and the camera are read from arm.xml, so the model stays the one source."""
import math
import os
import xml.etree.ElementTree as ET

import numpy as np

XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arm.xml")
JOINTS = ("joint_1", "joint_2", "joint_3")
TRAJ_TOPIC = "/joint_trajectory_controller/joint_trajectory"
EXPERT_S = 1.2  # the expert's reach: a minimum-jerk motion to its IK solution over this time


def _model():
    root = ET.parse(XML).getroot()
    lengths = []
    for body in ("link_1", "link_2", "link_3"):
        geom = root.find(f".//body[@name='{body}']/geom")
        f = [float(v) for v in geom.get("fromto").split()]
        lengths.append(math.dist(f[:3], f[3:]))
    cam = root.find(".//camera[@name='overhead']")
    joint = root.find(".//default/joint")
    lo, hi = (float(v) for v in joint.get("range").split())
    return lengths, cam, (lo, hi)


(L1, L2, L3), _CAM, (Q_MIN, Q_MAX) = _model()


def expert_goal(target_xy):
    """Joint positions that put the ee on the target: a function of the target only.

    The last link points radially outward from the base (so the wrist point is the target
    pulled L3 toward the base), the first two links solve the 2-link IK for the wrist with the
    elbow always on the same side (q2 >= 0), clipped to the joint ranges.
    """
    x, y = float(target_xy[0]), float(target_xy[1])
    phi = math.atan2(y, x)
    r = math.hypot(x, y)
    rw = min(max(r - L3, abs(L1 - L2) + 1e-6), L1 + L2 - 1e-6)
    c2 = (rw * rw - L1 * L1 - L2 * L2) / (2 * L1 * L2)
    q2 = math.acos(max(-1.0, min(1.0, c2)))
    q1 = phi - math.atan2(L2 * math.sin(q2), L1 + L2 * math.cos(q2))
    q3 = phi - q1 - q2
    q = np.array([q1, q2, q3])
    q = (q + math.pi) % (2 * math.pi) - math.pi
    return np.clip(q, Q_MIN, Q_MAX)


def min_jerk(q0, q1, T, t):
    """(position, velocity) at time t of the minimum-jerk motion from q0 to q1 over T s
    (at rest at both ends; q1 held after T)."""
    q0, q1 = np.asarray(q0, float), np.asarray(q1, float)
    if T <= 0 or t >= T:
        return q1.copy(), np.zeros_like(q1)
    s = max(t, 0.0) / T
    p = 10 * s**3 - 15 * s**4 + 6 * s**5
    dp = (30 * s**2 - 60 * s**3 + 30 * s**4) / T
    return q0 + (q1 - q0) * p, (q1 - q0) * dp


def forward_xy(q):
    """Planar forward kinematics of the ee site."""
    a1, a2, a3 = q[0], q[0] + q[1], q[0] + q[1] + q[2]
    return np.array([L1 * math.cos(a1) + L2 * math.cos(a2) + L3 * math.cos(a3),
                     L1 * math.sin(a1) + L2 * math.sin(a2) + L3 * math.sin(a3)])


def project(xyz, size):
    """Pixel (column, row) of a world point in the `overhead` camera's size x size image
    (MuJoCo's pinhole: the camera looks along its -z, fovy vertical)."""
    pos = np.array([float(v) for v in _CAM.get("pos").split()])
    ax = [float(v) for v in _CAM.get("xyaxes").split()]
    x = np.array(ax[:3]) / np.linalg.norm(ax[:3])
    y = np.array(ax[3:]) / np.linalg.norm(ax[3:])
    z = np.cross(x, y)
    d = np.asarray(xyz, float) - pos
    cx, cy, cz = d @ x, d @ y, d @ z
    f = 0.5 * size / math.tan(math.radians(float(_CAM.get("fovy"))) / 2)
    return 0.5 * size + f * cx / -cz, 0.5 * size - f * cy / -cz
