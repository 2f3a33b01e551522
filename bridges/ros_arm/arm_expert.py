#!/usr/bin/env python3
"""A scripted teleoperator for the simulated arm (arm_sim.py): the demonstrator whose reaches
get recorded for behaviour cloning. It reads the ground-truth target from /task/observation
and the measured joints from /joint_states; at each new episode (after a /task/result) and when
the target moves (by more than
1 mm) it sends ONE trajectory_msgs/JointTrajectory to the joint_trajectory_controller topic
(stamp 0: start now): a minimum-jerk motion from the measured positions to the analytic IK
solution (kinematics.expert_goal) over --duration-s, a point every 0.05 s with positions and
velocities. Nothing else: the arm holds the last point until the next target.

With --noise-rad S (DART, Laskey et al. 2017), the same trajectory first reaches a goal off by
N(0, S) rad per joint, rests --pause-s, then corrects to the true goal over --correct-s, as an
imprecise human reach does. Demonstrations without it only ever show the arm on its way from
home or at rest on the target; a cloned policy that stops 2-3 cm short then sees states no
demonstration had and does not correct (the served arm stopped 3-4 cm off in CI).

  .venv-ros/bin/python bridges/ros_arm/arm_expert.py [--episodes N]
Exits 0 on SIGINT/SIGTERM, or after N trajectories once they are acknowledged.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from kinematics import EXPERT_S, JOINTS, Q_MAX, Q_MIN, TRAJ_TOPIC, expert_goal, min_jerk  # noqa: E402
from ros_common import sec_nanosec, start_node  # noqa: E402

MOVED_M = 0.001


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=0, help="exit after this many trajectories (0: run on)")
    ap.add_argument("--duration-s", type=float, default=EXPERT_S)
    ap.add_argument("--point-s", type=float, default=0.05)
    ap.add_argument("--noise-rad", type=float, default=0.0, help="first-reach goal noise (std)")
    ap.add_argument("--pause-s", type=float, default=0.2)
    ap.add_argument("--correct-s", type=float, default=0.6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    import rclpy
    from builtin_interfaces.msg import Duration as DurationMsg
    from rclpy.duration import Duration
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    node, stop, reliable = start_node("arm_expert")
    log = node.get_logger()
    pub = node.create_publisher(JointTrajectory, TRAJ_TOPIC, reliable)
    # after: sim time of the last /task/result. Messages of the finished episode can still be
    # in the queues when its result is taken (rclpy orders callbacks by subscription, not by
    # publication): joint states stamped before it are ignored, and so are observations until
    # a joint state of the new episode has come (else the last episode's target is sent again).
    state = {"q": None, "target": None, "pending": None, "sent": 0, "after": None}

    def maybe_send():
        # Only once the joints are known and the controller listens (else the message is lost).
        if state["pending"] is None or state["q"] is None or pub.get_subscription_count() < 1:
            return
        target, state["pending"] = state["pending"], None
        q0, goal = np.asarray(state["q"]), expert_goal(target)
        msg = JointTrajectory(joint_names=list(JOINTS))  # header.stamp 0: start now

        def segment(start, end, t0, duration):
            n = max(1, int(round(duration / args.point_s)))
            for k in range(0 if t0 > 0 else 1, n + 1):  # k = 0: rest until t0, then move
                t = k * duration / n
                q, v = min_jerk(start, end, duration, t)
                sec, nanosec = sec_nanosec(t0 + t)
                msg.points.append(JointTrajectoryPoint(
                    positions=q.tolist(), velocities=v.tolist(),
                    time_from_start=DurationMsg(sec=sec, nanosec=nanosec)))

        if args.noise_rad > 0:
            first = np.clip(goal + rng.normal(0.0, args.noise_rad, len(JOINTS)), Q_MIN, Q_MAX)
            segment(q0, first, 0.0, args.duration_s)
            segment(first, goal, args.duration_s + args.pause_s, args.correct_s)
        else:
            segment(q0, goal, 0.0, args.duration_s)
        pub.publish(msg)
        state["sent"] += 1
        log.info(f"trajectory {state['sent']}: target ({target[0]:.3f}, {target[1]:.3f}) -> "
                 f"goal {[round(float(x), 3) for x in goal]}")

    def on_joints(msg):
        t = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if state["after"] is not None:
            if t < state["after"] - 1e-6:  # stamps are whole nanoseconds; ticks 10 ms apart
                return  # the finished episode's
            state["after"] = None
        if all(j in msg.name for j in JOINTS):
            state["q"] = [msg.position[msg.name.index(j)] for j in JOINTS]
            maybe_send()

    def on_observation(msg):
        if len(msg.data) < 5 or state["after"] is not None:
            return
        target = (msg.data[3], msg.data[4])
        last = state["target"]
        if last is None or math.hypot(target[0] - last[0], target[1] - last[1]) > MOVED_M:
            state["target"] = target
            state["pending"] = target
        maybe_send()

    def on_result(msg):
        # An episode ended: the next one gets a trajectory even if its target is where the last
        # one was (with few target places that happens), and starts from its own joints.
        state["target"], state["q"], state["pending"] = None, None, None
        state["after"] = msg.data[4] if len(msg.data) > 4 else None

    node.create_subscription(JointState, "/joint_states", on_joints, reliable)
    node.create_subscription(Float64MultiArray, "/task/result", on_result, reliable)
    node.create_subscription(Float64MultiArray, "/task/observation", on_observation, reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    while not stop and not (args.episodes and state["sent"] >= args.episodes):
        executor.spin_once(timeout_sec=0.1)
    pub.wait_for_all_acked(Duration(seconds=2.0))  # the drain: the last trajectory arrives
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
