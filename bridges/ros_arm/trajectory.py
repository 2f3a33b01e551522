"""joint_trajectory_controller semantics for the simulated arm (arm_sim.py), without ROS, so
that they can be tested on their own (test/arm_sim_test.py).

What ros2_control's joint_trajectory_controller does with a trajectory_msgs/JointTrajectory,
as far as a position-controlled arm needs it:
  - joints are matched by name, in any order; a message that misses one of the controller's
    joints, names an unknown or duplicate one, has no points, a point of the wrong size,
    a non-finite value or time_from_start not increasing is rejected (the reason is returned);
  - header.stamp 0 means "start now", any other stamp starts the trajectory at that time
    (sim time here); one that would have ended before now is rejected;
  - a new trajectory replaces the not-yet-executed rest of the old one from its start time
    on (until then the old one goes on);
  - positions are interpolated between points: cubic Hermite with the points' velocities when
    the message has them, linear otherwise; from the commanded state at the start time to the
    first point when its time_from_start is > 0;
  - after the last point its positions are held.
A forward position command (hold) replaces everything at once.
"""
import math

import numpy as np


class Rejected(ValueError):
    pass


class _Trajectory:
    def __init__(self, start, times, pos, vel):
        self.start, self.times, self.pos, self.vel = start, times, pos, vel  # vel may be None
        self.q0 = self.v0 = None  # the commanded state at `start`, set when it takes over

    def activate(self, q0, v0):
        self.q0, self.v0 = np.asarray(q0, float), np.asarray(v0, float)
        if self.times[0] > 0:  # first segment: from the commanded state to the first point
            self.times = np.concatenate([[0.0], self.times])
            self.pos = np.vstack([self.q0, self.pos])
            if self.vel is not None:
                self.vel = np.vstack([self.v0, self.vel])

    def sample(self, t):
        tr = t - self.start
        times, pos = self.times, self.pos
        if tr >= times[-1]:
            return pos[-1].copy(), np.zeros(pos.shape[1])
        if tr <= times[0]:
            return pos[0].copy(), (self.vel[0].copy() if self.vel is not None else np.zeros(pos.shape[1]))
        i = int(np.searchsorted(times, tr, side="right")) - 1
        t0, t1 = times[i], times[i + 1]
        h = t1 - t0
        s = (tr - t0) / h
        p0, p1 = pos[i], pos[i + 1]
        if self.vel is None:
            return p0 + (p1 - p0) * s, (p1 - p0) / h
        m0, m1 = self.vel[i] * h, self.vel[i + 1] * h
        h00, h10, h01, h11 = 2*s**3 - 3*s**2 + 1, s**3 - 2*s**2 + s, -2*s**3 + 3*s**2, s**3 - s**2
        d00, d10, d01, d11 = 6*s**2 - 6*s, 3*s**2 - 4*s + 1, -6*s**2 + 6*s, 3*s**2 - 2*s
        q = h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1
        v = (d00 * p0 + d10 * m0 + d01 * p1 + d11 * m1) / h
        return q, v


class TrajectoryFollower:
    """The commanded joint state of a joint_trajectory_controller over time."""

    def __init__(self, joints, q):
        self.joints = list(joints)
        self.hold(q)

    def hold(self, q):
        """Drops every trajectory and holds q (a forward position command, an episode reset)."""
        q = np.asarray(q, float)
        self._queue = []  # trajectories by start time; [0] is the active one once activated
        self._last = (q.copy(), np.zeros_like(q))

    def set_trajectory(self, joint_names, points, stamp, now):
        """points: [(positions, velocities or [] , time_from_start_s)] in joint_names' order;
        stamp: start time in seconds, 0 for now. Raises Rejected with the reason."""
        n = len(self.joints)
        names = list(joint_names)
        if len(set(names)) != len(names):
            raise Rejected(f"duplicate joint names {names}")
        unknown = [j for j in names if j not in self.joints]
        missing = [j for j in self.joints if j not in names]
        if unknown or missing:
            raise Rejected(f"joint names {names}: unknown {unknown}, missing {missing}")
        if not points:
            raise Rejected("no points")
        order = [names.index(j) for j in self.joints]
        times, pos, vel = [], [], []
        has_vel = len(points[0][1]) > 0
        for k, (p, v, tfs) in enumerate(points):
            if len(p) != n or (has_vel and len(v) != n) or (not has_vel and len(v) != 0):
                raise Rejected(f"point {k}: {len(p)} positions, {len(v)} velocities for {n} joints")
            vals = list(p) + list(v) + [tfs]
            if not all(math.isfinite(x) for x in vals):
                raise Rejected(f"point {k}: non-finite value")
            if tfs < 0 or (times and tfs <= times[-1]):
                raise Rejected(f"point {k}: time_from_start {tfs} not increasing")
            times.append(float(tfs))
            pos.append([p[i] for i in order])
            vel.append([v[i] for i in order] if has_vel else [])
        if not math.isfinite(stamp):
            raise Rejected("non-finite stamp")
        start = now if stamp == 0 else float(stamp)
        if start + times[-1] < now:
            raise Rejected(f"trajectory ended in the past ({start + times[-1]:.3f} s < now {now:.3f} s)")
        traj = _Trajectory(start, np.array(times), np.array(pos, float),
                           np.array(vel, float) if has_vel else None)
        # Replaces what was to start at or after its start; what started before runs until then.
        self._queue = [tr for tr in self._queue if tr.start < start] + [traj]

    def sample(self, t):
        """(positions, velocities) commanded at time t (t must not go back)."""
        if self._queue and self._queue[0].q0 is None and self._queue[0].start <= t:
            # The first trajectory after a hold starts from the last commanded state.
            self._queue[0].activate(*self._last)
        while len(self._queue) > 1 and self._queue[1].start <= t:
            nxt = self._queue[1]
            nxt.activate(*self._queue[0].sample(nxt.start))
            self._queue.pop(0)
        if self._queue and self._queue[0].q0 is not None:
            self._last = self._queue[0].sample(t)
        else:
            self._last = (self._last[0].copy(), np.zeros_like(self._last[0]))
        return self._last[0].copy(), self._last[1].copy()

    @property
    def active(self):
        return bool(self._queue)
