"""The reach task of bridges/ros_arm, shared by the ROS 2 simulator (arm_sim.py), the scripted
teleoperator (arm_expert.py) and the trainer's socket bridge (bridge.py), so that all three
see the same model, targets, success test and expert. No ROS here.

A planar 3-joint arm (arm.xml) must bring its end effector (site `ee`) within 4 cm of a target
on the table. The target is placed at random in the reachable region without moving the arm
(a real robot is not teleported between reaches). The expert is an analytic inverse
kinematics solution followed with a minimum-jerk motion.

Rendering: mujoco.Renderer on the fixed `overhead` camera. MUJOCO_GL defaults to `egl` here
(Mesa's EGL with llvmpipe works headless, no GPU and no display needed); set MUJOCO_GL=osmesa
to use libosmesa6 instead. The choice is made when mujoco is first imported: import this
module before mujoco (or set MUJOCO_GL yourself).
"""
import atexit
import math
import os
import sys

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from kinematics import JOINTS, Q_MAX, Q_MIN, XML, expert_goal, forward_xy, min_jerk  # noqa: E402,F401

HOME = np.zeros(3)  # stretched along +x: ee at (0.46, 0), >= 8 cm from any target
SUCCESS_M = 0.04
RADIUS = (0.22, 0.38)  # continuous targets: radius and angle ranges
ANGLE = (-1.2, 1.2)
ARC_RADIUS, ARC_ANGLE = 0.3, (-1.0, 1.0)  # discrete targets: N points on this arc


class ArmTask:
    """The MuJoCo model and the task state. targets=0: continuous targets; N > 0: one of N
    fixed positions on an arc, each once per round of N episodes in random order. Rounds, not
    independent draws: a demonstrator covers every place evenly, and 16 independent draws from
    4 places left one place with a single demonstration (BC then missed it in CI)."""

    def __init__(self, seed=0, targets=0, image_size=64):
        self.model = mujoco.MjModel.from_xml_path(XML)
        self.data = mujoco.MjData(self.model)
        self.rng = np.random.default_rng(seed)
        self.targets = int(targets)
        self._round = []  # the places left in this round (targets > 0)
        self.image_size = int(image_size)
        self._renderer = None
        self._mocap = self.model.body_mocapid[self.model.body("target").id]
        self._ee = self.model.site("ee").id
        self._camera = self.model.camera("overhead").id
        self.qadr = np.array([self.model.joint(j).qposadr[0] for j in JOINTS])
        self.vadr = np.array([self.model.joint(j).dofadr[0] for j in JOINTS])
        self.home()
        self.reset_target()

    def seed(self, seed):
        self.rng = np.random.default_rng(seed)
        self._round = []

    def arc_points(self):
        n = self.targets
        angles = [0.5 * sum(ARC_ANGLE)] if n == 1 else np.linspace(ARC_ANGLE[0], ARC_ANGLE[1], n)
        return [np.array([ARC_RADIUS * math.cos(a), ARC_RADIUS * math.sin(a)]) for a in angles]

    def reset_target(self):
        """A new target in the reachable region; the arm is not moved."""
        if self.targets > 0:
            if not self._round:
                self._round = list(self.rng.permutation(self.targets))
            xy = self.arc_points()[self._round.pop()]
        else:
            r = self.rng.uniform(*RADIUS)
            a = self.rng.uniform(*ANGLE)
            xy = np.array([r * math.cos(a), r * math.sin(a)])
        self.data.mocap_pos[self._mocap, :2] = xy
        mujoco.mj_forward(self.model, self.data)
        return xy

    def set_arm(self, q):
        """Puts the arm at rest at q, with the actuators holding it there."""
        q = np.clip(np.asarray(q, float), Q_MIN, Q_MAX)
        self.data.qpos[self.qadr] = q
        self.data.qvel[self.vadr] = 0.0
        self.data.ctrl[:] = q
        mujoco.mj_forward(self.model, self.data)

    def home(self):
        self.set_arm(HOME)

    def step(self, ctrl, dt):
        """Sets the actuators' position targets (clipped to the joint ranges), simulates dt."""
        self.data.ctrl[:] = np.clip(np.asarray(ctrl, float), Q_MIN, Q_MAX)
        n = max(1, int(round(dt / self.model.opt.timestep)))
        mujoco.mj_step(self.model, self.data, nstep=n)

    @property
    def time(self):
        return float(self.data.time)

    @property
    def qpos(self):
        return self.data.qpos[self.qadr].copy()

    @property
    def qvel(self):
        return self.data.qvel[self.vadr].copy()

    @property
    def ee_xy(self):
        return self.data.site_xpos[self._ee, :2].copy()

    @property
    def target_xy(self):
        return self.data.mocap_pos[self._mocap, :2].copy()

    @property
    def distance(self):
        return float(np.linalg.norm(self.ee_xy - self.target_xy))

    @property
    def success(self):
        return self.distance < SUCCESS_M

    def observation(self):
        """[q1, q2, q3, target_x, target_y]: the layout of /task/observation and bridge.py."""
        return np.concatenate([self.qpos, self.target_xy])

    def expert_goal(self):
        return expert_goal(self.target_xy)

    def render(self):
        """HxWx3 uint8 from the `overhead` camera."""
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self.image_size, self.image_size)
            atexit.register(self.close)
        self._renderer.update_scene(self.data, camera=self._camera)
        return self._renderer.render()

    def close(self):
        # Freed explicitly: a GL context left to the interpreter's teardown raises there.
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
