#!/usr/bin/env python3
"""A simulated robot arm (MuJoCo, arm.xml) as a ROS 2 node that speaks what a ros2_control
robot speaks, so that ndp_policy, a recorder and a teleoperator meet it as they would a real
one. Physics at 500 Hz, paced to wall-clock real time; sim time is published on /clock.

Publishes (sim time in every stamp; /clock never goes back):
  /joint_states        sensor_msgs/JointState, 100 Hz, reliable depth 10 (as
                       joint_state_broadcaster): joint_1..3 position and velocity, no effort
  /camera/image_raw    sensor_msgs/Image rgb8 64x64 (--image-size), 10 Hz, frame `overhead`;
                       reliable depth 5 rather than sensor-data QoS so that a recorder gets
                       every frame (a best-effort subscriber still matches)
  /clock               rosgraph_msgs/Clock, at each 100 Hz publish tick
  /task/observation    std_msgs/Float64MultiArray [q1, q2, q3, target_x, target_y], 100 Hz,
                       for state-based policies (an image policy does not read it)
  /task/result         std_msgs/Float64MultiArray per finished episode: [episode, success 0/1,
                       final distance m, expert_used 0/1, sim time s at the episode's end:
                       every later /joint_states is stamped at or after it], reliable +
                       transient_local depth 100;
                       expert_used: commands came in that episode while a node named
                       arm_expert published on the trajectory topic
Subscribes (reliable depth 10):
  /joint_trajectory_controller/joint_trajectory  trajectory_msgs/JointTrajectory, with
                       joint_trajectory_controller semantics (trajectory.py)
  /forward_position_controller/commands          std_msgs/Float64MultiArray, 3 positions in
                       joint order, applied at once (replaces any trajectory)

Episodes of --episode-s sim seconds; episode 0 starts from home. At an episode's end its result
is appended to --results (one JSON line) and published; then physics and all publishing pause
for --gap-s wall seconds (a recorded bag splits into episodes there), the target moves, the arm
goes back home (--reset home, the default: every episode starts from the same pose, as
demonstrations and evaluations usually do; --reset stay leaves it where the last reach ended)
and any trajectory is dropped, also one that arrived during the gap (the arm holds). With
--policy-node NAME the simulator is also the operator who switches the policy off for the
reset and on again after it (NAME's `enabled` parameter, over its set_parameters service). After --episodes it prints a summary JSON line and exits
0 (also on SIGINT/SIGTERM, with the episodes finished so far).

  .venv-ros/bin/python bridges/ros_arm/arm_sim.py --episodes 10 --episode-s 3.0 --seed 0 \\
      --targets 0 --image-size 64 --results out.jsonl [--wait-for-subscribers 2]
(after `source scripts/ros_env.sh`: loopback-only discovery; ROS_DOMAIN_ID as you like).
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm_task import JOINTS, Q_MAX, Q_MIN, ArmTask  # noqa: E402
from kinematics import TRAJ_TOPIC  # noqa: E402
from ros_common import sec_nanosec, start_node  # noqa: E402
from trajectory import Rejected, TrajectoryFollower  # noqa: E402

PUBLISH_HZ = 100
IMAGE_EVERY = 10  # publish ticks per camera frame: 10 Hz
FORWARD_TOPIC = "/forward_position_controller/commands"
EXPERT_NODE = "arm_expert"


def stamp(t):
    from builtin_interfaces.msg import Time

    sec, nanosec = sec_nanosec(t)
    return Time(sec=sec, nanosec=nanosec)


def duration_s(d):
    return d.sec + d.nanosec * 1e-9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--episode-s", type=float, default=3.0)
    ap.add_argument("--gap-s", type=float, default=1.0, help="wall seconds of silence between episodes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--targets", type=int, default=0, help="0: continuous; N: one of N arc positions")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--results", default=None, help="JSON lines file, one per episode (appended)")
    ap.add_argument("--wait-for-subscribers", type=int, default=0,
                    help="before episode 0, wait until /joint_states has this many subscriptions")
    ap.add_argument("--wait-timeout-s", type=float, default=60.0)
    ap.add_argument("--reset", choices=["home", "stay"], default="home",
                    help="between episodes: the arm back home (default), or left where it is")
    ap.add_argument("--policy-node", default=None,
                    help="a node with an `enabled` parameter (ndp_policy) switched off over each "
                         "reset and on again after it, through its set_parameters service")
    args = ap.parse_args()

    import numpy as np
    import rclpy
    from rclpy.duration import Duration
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

    task = ArmTask(seed=args.seed, targets=args.targets, image_size=args.image_size)  # at home
    follower = TrajectoryFollower(JOINTS, task.qpos)
    substeps = int(round(1.0 / PUBLISH_HZ / task.model.opt.timestep))
    ticks = int(round(args.episode_s * PUBLISH_HZ))

    node, stop, reliable = start_node("arm_sim")
    log = node.get_logger()
    pub_js = node.create_publisher(JointState, "/joint_states", reliable)
    pub_img = node.create_publisher(Image, "/camera/image_raw",
                                    QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
    pub_clock = node.create_publisher(Clock, "/clock", reliable)
    pub_obs = node.create_publisher(Float64MultiArray, "/task/observation", reliable)
    pub_res = node.create_publisher(
        Float64MultiArray, "/task/result",
        QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                   durability=DurabilityPolicy.TRANSIENT_LOCAL))
    commanded = [False, False]  # a command came this episode; an arm_expert node published it

    def from_expert():
        return any(i.node_name == EXPERT_NODE for i in node.get_publishers_info_by_topic(TRAJ_TOPIC))

    def on_trajectory(msg):
        points = [(list(p.positions), list(p.velocities), duration_s(p.time_from_start))
                  for p in msg.points]
        t0 = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        try:
            follower.set_trajectory(msg.joint_names, points, t0, now=task.time)
        except Rejected as e:
            log.warning(f"trajectory rejected: {e}")
            return
        commanded[0] = True
        commanded[1] = commanded[1] or from_expert()

    def on_forward(msg):
        q = list(msg.data)
        if len(q) != len(JOINTS) or not all(math.isfinite(x) for x in q):
            log.warning(f"forward command rejected: want {len(JOINTS)} finite positions, got {q}")
            return
        follower.hold(np.clip(q, Q_MIN, Q_MAX))
        commanded[0] = True

    set_params = None
    if args.policy_node:
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        set_params = node.create_client(SetParameters, f"/{args.policy_node}/set_parameters")

    def policy_enabled(on):
        """The operator's switch: `enabled` of --policy-node, waiting for its answer."""
        if set_params is None:
            return
        deadline = time.monotonic() + 10.0
        while not set_params.service_is_ready():
            if stop or time.monotonic() > deadline:
                raise RuntimeError(f"/{args.policy_node}/set_parameters is not available")
            executor.spin_once(timeout_sec=0.05)
        req = SetParameters.Request(parameters=[Parameter(
            name="enabled", value=ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=on))])
        fut = set_params.call_async(req)
        executor.spin_until_future_complete(fut, timeout_sec=10.0)
        if not fut.done() or not fut.result().results[0].successful:
            raise RuntimeError(f"setting enabled={on} on /{args.policy_node} failed: "
                               f"{fut.result() if fut.done() else 'no answer in 10 s'}")

    node.create_subscription(JointTrajectory, TRAJ_TOPIC, on_trajectory, reliable)
    node.create_subscription(Float64MultiArray, FORWARD_TOPIC, on_forward, reliable)
    executor = SingleThreadedExecutor()
    executor.add_node(node)

    def spin_until(deadline):
        while not stop:
            rem = deadline - time.monotonic()
            if rem <= 0:
                return
            executor.spin_once(timeout_sec=rem)

    def publish(tick):
        t = stamp(task.time)
        pub_clock.publish(Clock(clock=t))
        js = JointState()
        js.header.stamp = t
        js.name = list(JOINTS)
        js.position = task.qpos.tolist()
        js.velocity = task.qvel.tolist()
        pub_js.publish(js)
        pub_obs.publish(Float64MultiArray(data=task.observation().tolist()))
        if tick % IMAGE_EVERY == 0:
            publish_image(t)

    def publish_image(t):
        t_r = time.perf_counter()
        im = task.render()
        stats["render_s"] += time.perf_counter() - t_r
        stats["frames"] += 1
        msg = Image(height=im.shape[0], width=im.shape[1], encoding="rgb8", is_bigendian=0,
                    step=3 * im.shape[1])
        msg.header.stamp = t
        msg.header.frame_id = "overhead"
        msg.data = im.tobytes()
        pub_img.publish(msg)

    task.render()  # the GL context up front: its start-up would make the first tick late
    if args.wait_for_subscribers > 0:
        deadline = time.monotonic() + args.wait_timeout_s
        while pub_js.get_subscription_count() < args.wait_for_subscribers:
            if stop or time.monotonic() > deadline:
                print(f"arm_sim: /joint_states has {pub_js.get_subscription_count()} subscriptions, "
                      f"not {args.wait_for_subscribers}, after {args.wait_timeout_s} s", file=sys.stderr)
                task.close()
                node.destroy_node()
                rclpy.try_shutdown()
                return 1
            executor.spin_once(timeout_sec=0.05)

    stats = {"render_s": 0.0, "frames": 0, "physics_s": 0.0, "sim_s": 0.0, "late_ticks": 0}
    results = []
    wall0 = time.monotonic()
    for ep in range(args.episodes):
        if stop:
            break
        if ep > 0:
            policy_enabled(False)
            spin_until(time.monotonic() + args.gap_s)  # silence: nothing published
            if args.reset == "home":
                task.home()
            task.reset_target()
            follower.hold(task.qpos)  # what arrived during the reset is dropped
            # The camera's view of the new scene before anything may move (a real camera keeps
            # streaming): whatever plans first sees the new target, not the last episode's.
            publish_image(stamp(task.time))
            policy_enabled(True)
        commanded[:] = [False, False]
        start = time.monotonic()
        for tick in range(ticks):
            if stop:
                break
            publish(tick)
            spin_until(start + (tick + 1) / PUBLISH_HZ)
            if time.monotonic() - (start + (tick + 1) / PUBLISH_HZ) > 0.05:
                stats["late_ticks"] += 1  # behind real time: fall back rather than rush
                start = time.monotonic() - (tick + 1) / PUBLISH_HZ
            t_p = time.perf_counter()
            for _ in range(substeps):
                q, _ = follower.sample(task.time)
                task.step(q, task.model.opt.timestep)
            stats["physics_s"] += time.perf_counter() - t_p
            stats["sim_s"] += substeps * task.model.opt.timestep
        if stop:
            break
        res = {"episode": ep, "success": bool(task.success), "distance": task.distance,
               "target": task.target_xy.tolist()}
        results.append(res)
        if args.results:
            with open(args.results, "a") as f:
                f.write(json.dumps(res) + "\n")
        expert_used = commanded[0] and (commanded[1] or from_expert())
        pub_res.publish(Float64MultiArray(data=[float(ep), float(res["success"]), res["distance"],
                                                float(expert_used), task.time]))
        follower.hold(task.qpos)
    wall = time.monotonic() - wall0
    pub_res.wait_for_all_acked(Duration(seconds=2.0))  # the last result reaches its readers
    n = len(results)
    succ = sum(r["success"] for r in results)
    print(json.dumps({
        "episodes": n, "successes": succ, "success_rate": succ / n if n else 0.0,
        "interrupted": bool(stop),
        "render_fps": round(stats["frames"] / stats["render_s"], 1) if stats["render_s"] else None,
        # simulated seconds per second spent in physics (with the controller's interpolation)
        "physics_rtf": round(stats["sim_s"] / stats["physics_s"], 1) if stats["physics_s"] else None,
        "late_ticks": stats["late_ticks"], "wall_s": round(wall, 2),
    }), flush=True)
    task.close()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
