#!/usr/bin/env python3
"""Tests of the simulated ROS 2 arm (bridges/ros_arm):
  task     ArmTask alone: the IK expert driven by min_jerk reaches 50 random continuous targets
           (and every arc target), the IK is a deterministic function of the target, render()
           has the right shape and the target is brighter than the floor in grayscale;
  jtc      the joint_trajectory_controller semantics of trajectory.py, without ROS;
  ros      end to end over rclpy: arm_sim.py (3 episodes) and arm_expert.py as processes,
           3/3 successes in the results file, and this test's own subscriber receives
           /joint_states, /camera/image_raw (rgb8 64x64, step 192), /clock (never going
           back) and /task/result; the expert exits 0 on SIGINT;
  bridge   bridge.py over the trainer's socket protocol: spec / reset / step / expert, an
           expert-driven episode succeeds, malformed requests get {"error"} and the bridge
           keeps serving, close ends it with exit 0.
Prints measurements and one JSON summary line (and 'N passed, N failed'); exits 1 on failure.
DDS stays on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in its own ROS_DOMAIN_ID.

  .venv-ros/bin/python test/arm_sim_test.py [--domain 143] [--only task,jtc,ros,bridge]
"""
import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARM = os.path.join(ROOT, "bridges", "ros_arm")
sys.path.insert(0, ARM)
PY = sys.executable

import numpy as np  # noqa: E402


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def test_task(out):
    from arm_task import ArmTask, expert_goal, forward_xy, min_jerk

    task = ArmTask(seed=7)
    # 50 random continuous targets, one reach after another as on the robot (no teleport).
    dists = []
    t0 = time.perf_counter()
    for _ in range(50):
        task.reset_target()
        q0, goal = task.qpos, task.expert_goal()
        check(np.all(np.abs(goal) <= 2.6), f"IK goal {goal} outside the joint ranges")
        check(np.linalg.norm(forward_xy(goal) - task.target_xy) < 1e-9, "IK goal misses the target")
        for k in range(150):  # 3 s at 50 Hz
            q, _ = min_jerk(q0, goal, 1.2, (k + 1) * 0.02)
            task.step(q, 0.02)
        dists.append(task.distance)
    physics_rtf = 150 * 0.02 * 50 / (time.perf_counter() - t0)
    ok = sum(d < 0.04 for d in dists)
    out["expert_success_50"] = ok
    out["physics_rtf"] = round(physics_rtf, 1)
    check(ok == 50, f"expert reached {ok}/50 targets, distances {max(dists):.4f} max")
    # Every arc target too (discrete mode).
    arc = ArmTask(seed=1, targets=5)
    for xy in arc.arc_points():
        check(np.linalg.norm(forward_xy(expert_goal(xy)) - xy) < 1e-9, f"arc target {xy} missed")
    # Every place once per round of 5, whatever the order; the constructor's target (episode 0's)
    # is the first of round 0.
    drawn = [arc.target_xy] + [arc.reset_target() for _ in range(39)]
    for r in range(8):
        picks = {tuple(np.round(xy, 6)) for xy in drawn[5 * r:5 * r + 5]}
        check(len(picks) == 5, f"round {r}: 5 arc targets, {len(picks)} drawn")
    # Deterministic: same target -> same goal, whatever the arm's pose or the instance.
    other = ArmTask(seed=99)
    for xy in ([0.3, 0.1], [0.22, -0.2], [0.1, 0.35]):
        g1 = expert_goal(xy)
        task.set_arm([1.0, -1.0, 0.5])
        other.data.mocap_pos[0, :2] = xy
        check(np.array_equal(g1, expert_goal(np.array(xy))) and np.array_equal(g1, other.expert_goal()),
              f"IK not deterministic at {xy}")
    # reset_target leaves the arm where it is.
    task.set_arm([0.4, 0.3, -0.2])
    q = task.qpos
    task.reset_target()
    check(np.array_equal(q, task.qpos), "reset_target moved the arm")
    # Rendering: shape, and the target brighter than the floor in grayscale.
    task.home()
    cam = task.data.cam("overhead")
    f = 0.5 * task.image_size / math.tan(math.radians(task.model.cam_fovy[cam.id]) / 2)
    for _ in range(10):
        task.reset_target()
        im = task.render()
        check(im.shape == (64, 64, 3) and im.dtype == np.uint8, f"render: {im.shape} {im.dtype}")
        gray = im @ np.array([0.299, 0.587, 0.114])
        p = cam.xmat.reshape(3, 3).T @ (np.append(task.target_xy, 0.005) - cam.xpos)
        col = int(round(32 + f * p[0] / -p[2] - 0.5))
        row = int(round(32 - f * p[1] / -p[2] - 0.5))
        check(0 <= row < 64 and 0 <= col < 64, f"target at pixel {row},{col}: outside the image")
        spot = gray[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].max()
        floor = np.median(gray)
        check(spot > floor + 100, f"target at {row},{col} not bright: {spot:.0f} vs floor {floor:.0f}")
    t0 = time.perf_counter()
    for _ in range(200):
        task.render()
    out["render_fps_64"] = round(200 / (time.perf_counter() - t0), 1)
    out["mujoco_gl"] = os.environ.get("MUJOCO_GL")
    task.close()


def test_jtc(out):
    from trajectory import Rejected, TrajectoryFollower

    J = ["joint_1", "joint_2", "joint_3"]
    near = lambda a, b: np.allclose(a, b, atol=1e-9)  # noqa: E731
    f = TrajectoryFollower(J, [0.0, 0.0, 0.0])
    check(near(f.sample(0.5)[0], 0), "hold before any trajectory")
    # stamp 0 = now: from the commanded state to the first point, linear without velocities.
    f.set_trajectory(J, [([1, 1, 1], [], 1.0)], 0.0, now=1.0)
    check(near(f.sample(1.5)[0], 0.5), f"stamp 0 is now: {f.sample(1.5)[0]}")
    q, v = f.sample(2.0)
    check(near(q, 1), f"at the last point: {q}")
    q, v = f.sample(3.0)
    check(near(q, 1) and near(v, 0), f"hold after the last point: {q} {v}")
    # Replacement at a start time: the old one runs until then, the new one from its state.
    f = TrajectoryFollower(J, [0.0, 0.0, 0.0])
    f.set_trajectory(J, [([1, 1, 1], [], 2.0)], 0.0, now=0.0)
    f.sample(0.4)
    f.set_trajectory(J, [([0, 0, 0], [], 1.0)], 1.0, now=0.5)
    check(near(f.sample(0.9)[0], 0.45), f"old trajectory until the new start: {f.sample(0.9)[0]}")
    check(near(f.sample(1.5)[0], 0.25), f"new one from the state at its start: {f.sample(1.5)[0]}")
    check(near(f.sample(2.5)[0], 0.0), "new one's last point held")
    # A later message replaces a queued one that starts at or after its start.
    f = TrajectoryFollower(J, [0.0, 0.0, 0.0])
    f.set_trajectory(J, [([1, 1, 1], [], 1.0)], 5.0, now=0.0)
    f.set_trajectory(J, [([2, 2, 2], [], 1.0)], 0.0, now=0.0)
    check(near(f.sample(3.0)[0], 2.0) and near(f.sample(7.0)[0], 2.0), "queued trajectory not replaced")
    # Reordered joint names.
    f = TrajectoryFollower(J, [0.0, 0.0, 0.0])
    f.set_trajectory(["joint_3", "joint_1", "joint_2"], [([3, 1, 2], [], 0.5)], 0.0, now=0.0)
    check(near(f.sample(1.0)[0], [1, 2, 3]), f"joint names matched by name: {f.sample(1.0)[0]}")
    # Cubic Hermite through the points with their velocities.
    f = TrajectoryFollower(J, [0.0, 0.0, 0.0])
    f.set_trajectory(J, [([0, 0, 0], [0, 0, 0], 0.0), ([1, 2, 3], [1, 1, 1], 1.0),
                         ([2, 2, 2], [0, 0, 0], 2.0)], 0.0, now=10.0)
    q, v = f.sample(11.0)
    check(near(q, [1, 2, 3]) and near(v, [1, 1, 1]), f"Hermite at a point: {q} {v}")
    q, v = f.sample(10.5)
    check(near(q, [0.375, 0.875, 1.375]), f"Hermite between points: {q}")
    # Rejections, each leaving the current trajectory alone.
    bad = {
        "missing joint": (["joint_1", "joint_2"], [([0, 0], [], 1.0)], 0.0),
        "unknown joint": (J + ["joint_4"], [([0, 0, 0, 0], [], 1.0)], 0.0),
        "duplicate joint": (["joint_1", "joint_1", "joint_2"], [([0, 0, 0], [], 1.0)], 0.0),
        "NaN position": (J, [([0, float("nan"), 0], [], 1.0)], 0.0),
        "inf velocity": (J, [([0, 0, 0], [0, float("inf"), 0], 1.0)], 0.0),
        "short point": (J, [([0, 0], [], 1.0)], 0.0),
        "no points": (J, [], 0.0),
        "time not increasing": (J, [([0, 0, 0], [], 1.0), ([1, 1, 1], [], 1.0)], 0.0),
        "ended in the past": (J, [([0, 0, 0], [], 1.0)], 5.0),
    }
    for what, (names, points, stamp) in bad.items():
        try:
            f.set_trajectory(names, points, stamp, now=12.0)
        except Rejected:
            pass
        else:
            raise Failed(f"{what}: not rejected")
        check(near(f.sample(12.0)[0], [2, 2, 2]), f"{what}: changed the commanded state")
    # A forward position command (hold) drops everything at once.
    f.set_trajectory(J, [([5, 5, 5], [], 1.0)], 0.0, now=12.0)
    f.hold([0.1, 0.2, 0.3])
    check(near(f.sample(20.0)[0], [0.1, 0.2, 0.3]), "hold replaces the trajectory")
    out["jtc_cases"] = 8 + len(bad)


def test_ros(out, domain, timeout):
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import Float64MultiArray

    rclpy.init()
    node = rclpy.create_node("arm_sim_test")
    got = {"joint_states": [], "image": [], "clock": [], "result": []}
    node.create_subscription(JointState, "/joint_states", got["joint_states"].append, 10)
    node.create_subscription(Image, "/camera/image_raw", got["image"].append,
                             QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
    node.create_subscription(Clock, "/clock", got["clock"].append, 10)
    node.create_subscription(Float64MultiArray, "/task/result", got["result"].append,
                             QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    tmp = tempfile.mkdtemp(prefix="arm_sim_test.")
    results = os.path.join(tmp, "results.jsonl")
    logs = {n: open(os.path.join(tmp, n + ".log"), "w+") for n in ("sim", "expert")}
    expert = subprocess.Popen([PY, os.path.join(ARM, "arm_expert.py")],
                              stdout=logs["expert"], stderr=subprocess.STDOUT)
    sim = subprocess.Popen([PY, os.path.join(ARM, "arm_sim.py"), "--episodes", "3", "--episode-s", "3.0",
                            "--seed", "11", "--image-size", "64", "--results", results,
                            "--wait-for-subscribers", "2", "--wait-timeout-s", str(timeout)],
                           stdout=subprocess.PIPE, stderr=logs["sim"], text=True)
    try:
        deadline = time.monotonic() + timeout + 30
        while sim.poll() is None and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.05)
        check(sim.poll() is not None, "arm_sim.py did not finish in time")
        summary = sim.stdout.read().strip().splitlines()
        # The last result may still be on its way: spin until it is here (bounded).
        deadline = time.monotonic() + 5
        while len(got["result"]) < 3 and time.monotonic() < deadline:
            ex.spin_once(timeout_sec=0.05)
        expert.send_signal(signal.SIGINT)
        expert_rc = expert.wait(timeout=15)
    finally:
        for p in (sim, expert):
            if p.poll() is None:
                p.kill()
                p.wait()
    for f in logs.values():
        f.seek(0)
    diag = f" (sim log: {logs['sim'].read()[-800:]!r}; expert log: {logs['expert'].read()[-800:]!r})"
    check(sim.returncode == 0, f"arm_sim.py exited {sim.returncode}{diag}")
    check(expert_rc == 0, f"arm_expert.py exited {expert_rc} on SIGINT{diag}")
    eps = [json.loads(line) for line in open(results)]
    sim_summary = json.loads(summary[-1])
    out["ros_sim"] = sim_summary
    check(len(eps) == 3 and all(e["success"] for e in eps), f"episodes {eps}{diag}")
    check(sim_summary["successes"] == 3, f"summary {sim_summary}")
    n = {k: len(v) for k, v in got.items()}
    out["ros_received"] = n
    check(n["joint_states"] >= 600, f"/joint_states: {n['joint_states']} messages for 9 s at 100 Hz")
    js = got["joint_states"][-1]
    check(list(js.name) == ["joint_1", "joint_2", "joint_3"] and len(js.position) == 3
          and len(js.velocity) == 3 and len(js.effort) == 0, f"joint state {js}")
    check(n["image"] >= 20, f"/camera/image_raw: {n['image']} frames")
    im = got["image"][-1]
    check((im.encoding, im.width, im.height, im.step, len(im.data), im.header.frame_id)
          == ("rgb8", 64, 64, 192, 64 * 64 * 3, "overhead"), f"image {im.encoding} {im.width}x{im.height}")
    clock = [c.clock.sec + c.clock.nanosec * 1e-9 for c in got["clock"]]
    check(n["clock"] >= 600 and all(b >= a for a, b in zip(clock, clock[1:])),
          f"/clock: {n['clock']} messages, monotonic {all(b >= a for a, b in zip(clock, clock[1:]))}")
    res = [list(r.data) for r in got["result"]]
    check(len(res) == 3 and [r[0] for r in res] == [0, 1, 2] and all(r[1] == 1 and r[3] == 1 for r in res),
          f"/task/result {res}")
    # Each result carries the sim time of its episode's end: every later joint state is stamped
    # at or after it (what the expert relies on to ignore the finished episode's messages).
    js_t = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in got["joint_states"]]
    check(all(len(r) == 5 for r in res) and [r[4] for r in res] == sorted(r[4] for r in res)
          and abs(res[-1][4] - max(js_t)) < 0.02, f"result end times {[r[4:] for r in res]}, "
          f"last joint state {max(js_t) if js_t else None}")
    node.destroy_node()
    rclpy.try_shutdown()


def test_bridge(out, timeout):
    path = os.path.join(tempfile.mkdtemp(prefix="arm_bridge."), "s.sock")
    proc = subprocess.Popen([PY, os.path.join(ARM, "bridge.py"), "--socket", path, "--seed", "3"])
    try:
        deadline = time.monotonic() + timeout
        conn = None
        while conn is None:  # polls the bridge's readiness (its socket), as the trainer does
            check(proc.poll() is None, f"bridge exited {proc.returncode} before accepting")
            check(time.monotonic() < deadline, "bridge socket not ready in time")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                conn = s
            except OSError:
                s.close()
                time.sleep(0.02)
        conn.settimeout(timeout)
        rw = conn.makefile("rw", encoding="utf-8")

        def ask(req):
            rw.write((req if isinstance(req, str) else json.dumps(req)) + "\n")
            rw.flush()
            return json.loads(rw.readline())

        spec = ask({"op": "spec"})
        check(spec == {"obs_dim": 5, "act_dim": 3, "max_steps": 60, "act_low": [-2.6] * 3,
                       "act_high": [2.6] * 3}, f"spec {spec}")
        r1 = ask({"op": "reset", "seed": 42})
        r2 = ask({"op": "reset", "seed": 42})
        check(r1 == r2 and len(r1["obs"]) == 5, f"reset with a seed: {r1} vs {r2}")
        check(all(abs(q) <= 1.0 for q in r1["obs"][:3]), f"start pose not within 1 rad of home {r1}")
        check(ask({"op": "reset", "seed": None})["obs"] != r1["obs"], "reset without seed repeats")
        t0 = time.perf_counter()
        ok = 0
        for ep in range(5):
            obs = ask({"op": "reset", "seed": 100 + ep})["obs"]
            for k in range(60):
                a = ask({"op": "expert"})["action"]
                check(len(a) == 3, f"expert {a}")
                r = ask({"op": "step", "action": a})
                check(set(r) == {"obs", "reward", "terminated", "truncated", "success"}, f"step {r}")
                check(r["obs"][3:] == obs[3:], "the target moved within an episode")
                check(r["truncated"] == (k == 59) and r["terminated"] is False, f"step {k}: {r}")
            ok += r["success"]
            check(r["reward"] > 0.9, f"reward at success {r['reward']}")
        out["bridge_expert_success"] = f"{ok}/5"
        out["bridge_steps_per_s_with_expert"] = round(300 / (time.perf_counter() - t0))
        check(ok == 5, f"expert episodes over the bridge: {ok}/5 succeeded")
        t0 = time.perf_counter()
        for _ in range(1000):
            ask({"op": "step", "action": [0.3, -0.2, 0.1]})
        out["bridge_steps_per_s"] = round(1000 / (time.perf_counter() - t0))
        for bad in ("not json", '["a list"]', {"op": "step", "action": [1.0]}, {"op": "step"},
                    {"op": "nope"}):
            r = ask(bad)
            check(set(r) == {"error"}, f"{bad!r} answered {r}")
        check(ask({"op": "spec"}) == spec, "the bridge stopped serving after errors")
        r = ask('{"op":"step","action":[null,0.1,0.0]}')
        check("obs" in r, f"a null action value: {r}")
        rw.write('{"op":"close"}\n')
        rw.flush()
        check(proc.wait(timeout=timeout) == 0, f"bridge exited {proc.returncode} on close")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", type=int, default=143, help="ROS_DOMAIN_ID of this test")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--only", default="task,jtc,ros,bridge")
    a = ap.parse_args()
    out, passed, failed = {}, [], []
    tests = {"task": lambda: test_task(out), "jtc": lambda: test_jtc(out),
             "ros": lambda: test_ros(out, a.domain, a.timeout), "bridge": lambda: test_bridge(out, a.timeout)}
    for name in a.only.split(","):
        t0 = time.monotonic()
        try:
            tests[name]()
            passed.append(name)
            print(json.dumps({"test": name, "ok": True, "s": round(time.monotonic() - t0, 1)}), flush=True)
        except Exception as e:  # noqa: BLE001: every failure is reported, the rest still run
            failed.append(name)
            print(json.dumps({"test": name, "ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
    print(json.dumps({"passed": passed, "failed": failed, **out}), flush=True)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
