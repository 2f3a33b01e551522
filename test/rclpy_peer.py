#!/usr/bin/env python3
"""An rclpy peer for ndp_policy on a real ROS 2 (rclpy 7.1 over Fast DDS, from .venv-ros).

Starts ndp_policy itself (either transport: the r2r build or the embedded-DDS build), publishes
sensor_msgs/JointState with the joints in another order than the node's joint_names, and checks
what comes back:
  - trajectory_msgs/JointTrajectory: joint names in the node's order, finite positions inside
    position_min/position_max, time_from_start increasing, consecutive points within
    velocity_max, the first point within velocity_max/rate_hz per tick of the published state;
  - std_msgs/Float64MultiArray: one setpoint per tick, finite, inside the box, the first within
    one tick's velocity_max of the state;
  - SIGINT (repeated --sigint-runs times): exit code 0, no abort, and the final hold (a
    JointTrajectory ending at rest: one point with zero velocities, or a braking trajectory
    whose last point has zero velocities; as checked as any other) reaching this reliable
    subscriber as the last message.
Prints one JSON line per phase and a summary line; exits 1 on any failed check.

Run with .venv-ros/bin/python after `source scripts/ros_env.sh` (loopback-only discovery);
--domain gives the test its own ROS_DOMAIN_ID. Example:
  .venv-ros/bin/python test/rclpy_peer.py --domain 81 --run /tmp/run \\
      --node-env LD_PRELOAD=$NDP_ROS_LIBPYTHON -- target/r2r/debug/ndp_policy
"""

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

JOINTS = ["j1", "j2", "j3", "j4", "j5", "j6", "j7"]
# Distinct per joint, inside the box below: a node that ignored the names would be caught.
STATE = [0.1, 0.2, 0.3, -1.0, 0.5, 1.0, 0.2]
# Franka Panda's position box; a tighter speed limit than the Panda's so that it binds.
POS_MIN = [-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973]
POS_MAX = [2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973]
VEL_MAX = [0.5, 0.5, 0.5, 0.5, 0.6, 0.6, 0.6]
EPS = 1e-9


def fmt_list(xs):
    return "[" + ", ".join(repr(float(x)) for x in xs) + "]"


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domain", type=int, required=True, help="ROS_DOMAIN_ID of this test")
    ap.add_argument("--run", required=True, help="checkpoint (run directory) for the node")
    ap.add_argument("--rate-hz", type=float, default=100.0)
    ap.add_argument("--want", type=int, default=20, help="trajectories to check in the first run")
    ap.add_argument("--want-array", type=int, default=50, help="arrays to check")
    ap.add_argument("--sigint-runs", type=int, default=10)
    ap.add_argument("--min-final-holds", type=int, default=None,
                    help="final holds that must arrive (default: all --sigint-runs)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    ap.add_argument("--node-env", action="append", default=[], help="KEY=VALUE for the node")
    ap.add_argument("--log-dir", default=None, help="where node logs go (default: a temp dir)")
    ap.add_argument("node", nargs="+", help="the ndp_policy command")
    a = ap.parse_args()
    min_holds = a.sigint_runs if a.min_final_holds is None else a.min_final_holds

    os.environ["ROS_DOMAIN_ID"] = str(a.domain)
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64MultiArray
    from trajectory_msgs.msg import JointTrajectory

    rclpy.init(domain_id=a.domain)
    peer = rclpy.create_node("ndp_rclpy_peer")
    ex = SingleThreadedExecutor()
    ex.add_node(peer)
    # The node's defaults: state_qos and command_qos are reliable, volatile, keep last 10.
    reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                          reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)
    deep = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
    js_topic, traj_topic, arr_topic = "/peer/joint_states", "/peer/trajectory", "/peer/commands"
    js_pub = peer.create_publisher(JointState, js_topic, reliable)
    got = {"traj": [], "arr": []}
    peer.create_subscription(JointTrajectory, traj_topic,
                             lambda m: got["traj"].append((time.monotonic(), m)), deep)
    peer.create_subscription(Float64MultiArray, arr_topic,
                             lambda m: got["arr"].append((time.monotonic(), m)), deep)
    # Published in reverse order: the node must reorder by name.
    order = list(reversed(range(len(JOINTS))))

    def publish_state():
        m = JointState()
        m.header.stamp = peer.get_clock().now().to_msg()
        m.name = [JOINTS[i] for i in order]
        m.position = [STATE[i] for i in order]
        m.velocity = [0.0] * len(JOINTS)
        js_pub.publish(m)

    publishing = {"on": False}

    def tick():
        if publishing["on"]:
            publish_state()

    peer.create_timer(0.02, tick)  # 50 Hz, like a slow joint_state_broadcaster

    log_dir = a.log_dir or tempfile.mkdtemp(prefix="ndp-rclpy-peer-")
    os.makedirs(log_dir, exist_ok=True)
    env = dict(os.environ)
    for kv in a.node_env:
        k, _, v = kv.partition("=")
        env[k] = v
    env["ROS_DOMAIN_ID"] = str(a.domain)
    env.setdefault("RUST_LOG", "info")

    def spin_until(pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            ex.spin_once(timeout_sec=0.01)
        return pred()

    def start(output, tag):
        topic = traj_topic if output == "joint_trajectory" else arr_topic
        params = {
            "checkpoint": a.run,
            "joint_names": "[" + ", ".join(JOINTS) + "]",
            "rate_hz": repr(a.rate_hz),
            "publish_plan": "false",
            "output": output,
            "command_topic": topic,
            "joint_state_topic": js_topic,
            "position_min": fmt_list(POS_MIN),
            "position_max": fmt_list(POS_MAX),
            "velocity_max": fmt_list(VEL_MAX),
            "input_timeout_s": "2.0",
        }
        cmd = list(a.node) + ["--ros-args"]
        for k, v in params.items():
            cmd += ["-p", f"{k}:={v}"]
        log = open(os.path.join(log_dir, f"{tag}.log"), "w")
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        p.log_path = log.name
        return p, topic

    def log_tail(p, n=30):
        try:
            with open(p.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def node_log(p):
        try:
            with open(p.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def wait_matched(p, topic):
        """Until both sides of both topics have matched: this peer's joint-state writer the
        node's reader (rclpy's own count), and the node's command writer this peer's reader
        (the node logs it). A reliable, volatile writer drops what it wrote before it matched
        a reader, so the node's first command would otherwise be lost now and then."""
        said = f"{topic}: 1 subscriber(s) matched"
        ok = spin_until(lambda: p.poll() is not None
                        or (js_pub.get_subscription_count() >= 1 and said in node_log(p)), a.timeout)
        check(p.poll() is None, f"node exited during start-up (code {p.returncode}):\n{log_tail(p)}")
        check(ok, f"node's reader of {js_topic} / writer of {topic} not matched in {a.timeout} s "
              f"(the node's log says: {said in node_log(p)}):\n{log_tail(p)}")

    def stop(p):
        """SIGINT; returns (exit code, seconds to exit)."""
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        spin_until(lambda: p.poll() is not None, a.timeout)
        if p.poll() is None:
            p.kill()
            p.wait()
            raise Failed(f"node still running {a.timeout} s after SIGINT:\n{log_tail(p)}")
        dt = time.monotonic() - t0
        # Whatever was sent before the exit arrives now.
        spin_until(lambda: False, 0.5)
        return p.returncode, dt

    def check_trajectory(m, first, t_first, t_recv):
        check(list(m.joint_names) == JOINTS, f"joint_names {list(m.joint_names)} != {JOINTS}")
        check(len(m.points) >= 1, "a JointTrajectory without points")
        prev_t, prev_p = 0.0, None
        for k, pt in enumerate(m.points):
            pos = list(pt.positions)
            check(len(pos) == len(JOINTS), f"point {k}: {len(pos)} positions")
            check(all(math.isfinite(x) for x in pos), f"point {k}: non-finite {pos}")
            check(all(math.isfinite(x) for x in pt.velocities), f"point {k}: non-finite velocities")
            for j, x in enumerate(pos):
                check(POS_MIN[j] - EPS <= x <= POS_MAX[j] + EPS,
                      f"point {k} joint {JOINTS[j]}: {x} outside [{POS_MIN[j]}, {POS_MAX[j]}]")
            t = pt.time_from_start.sec + pt.time_from_start.nanosec * 1e-9
            check(t > prev_t, f"point {k}: time_from_start {t} not after {prev_t}")
            ref = prev_p if prev_p is not None else STATE
            # The first point against the state: the first trajectory strictly (its first point is
            # t ticks ahead of the state), later ones allowing the time the executor has moved.
            dt = t - prev_t
            if prev_p is None and not first:
                dt = t + (t_recv - t_first) + 0.2
            for j in range(len(JOINTS)):
                step = abs(pos[j] - ref[j])
                check(step <= VEL_MAX[j] * dt * (1 + 1e-6) + 1e-9,
                      f"point {k} joint {JOINTS[j]}: moved {step:.6f} in {dt:.4f} s "
                      f"> velocity_max {VEL_MAX[j]} (from {'the state' if prev_p is None else 'the previous point'})")
            prev_t, prev_p = t, pos

    def stats(p):
        """(ticks, missed ticks, commands published) from the node's closing log line."""
        m = re.search(r"(\d+) ticks, (\d+) missed, (\d+) commands published", log_tail(p, 200))
        return tuple(int(g) for g in m.groups()) if m else None

    def is_hold(m):
        """A hold: a trajectory that ends at rest (a single point with zero velocities, or a
        braking trajectory whose last point has zero velocities)."""
        return len(m.points) >= 1 and len(m.points[-1].velocities) == len(JOINTS) \
            and all(v == 0.0 for v in m.points[-1].velocities)

    report = {"sigint_runs": a.sigint_runs, "final_holds": 0, "exit_codes": [], "exit_s": [],
              "ticks": 0, "missed_ticks": 0}
    failures = []

    # Trajectory output; the SIGINT runs. The first run also checks --want trajectories.
    for run in range(a.sigint_runs):
        got["traj"].clear()
        publishing["on"] = False
        p, topic = start("joint_trajectory", f"trajectory-{run}")
        try:
            wait_matched(p, topic)
            publishing["on"] = True
            t_on = time.monotonic()
            want = a.want if run == 0 else 3
            ok = spin_until(lambda: len(got["traj"]) >= want or p.poll() is not None, a.timeout)
            check(p.poll() is None, f"node exited (code {p.returncode}):\n{log_tail(p)}")
            check(ok, f"{len(got['traj'])} of {want} trajectories in {a.timeout} s:\n{log_tail(p)}")
            t_first = got["traj"][0][0]
            n_before = len(got["traj"])
            code, dt = stop(p)
            after = [m for _, m in got["traj"][n_before:]]
            # The final hold is the node's last publication: it arrived when this subscriber
            # got every trajectory the node says it published and the last one ends at rest.
            # (Plans end at rest too: the count is what tells the final hold from them.)
            ticks = stats(p)
            published = ticks[2] if ticks else None
            # A reliable, volatile writer drops what it wrote before it matched this reader (DDS
            # discovery completes on each side on its own), so the first trajectories may be
            # missing; the first one received is the node's first only when none is.
            # Then the later ones are held to the time since the first joint state went out.
            complete = published == len(got["traj"])
            if not complete:
                t_first = t_on
            for i, (t_recv, m) in enumerate(list(got["traj"][:n_before])):
                check_trajectory(m, i == 0 and complete, t_first, t_recv)
            if run == 0:
                m = got["traj"][0][1]
                print(json.dumps({"phase": "joint_trajectory", "checked": n_before,
                                  "points": len(m.points),
                                  "first_point": list(m.points[0].positions),
                                  "state": STATE}), flush=True)
            held = bool(after) and is_hold(after[-1]) and complete
            if held:
                t_recv = got["traj"][-1][0]
                check_trajectory(after[-1], False, t_first, t_recv)
            report["final_holds"] += int(held)
            report["exit_codes"].append(code)
            report["exit_s"].append(round(dt, 3))
            if ticks:
                report["ticks"] += ticks[0]
                report["missed_ticks"] += ticks[1]
            print(json.dumps({"phase": "sigint", "run": run, "exit_code": code,
                              "exit_s": round(dt, 3), "final_hold": held,
                              "after_sigint": len(after), "received": len(got["traj"]),
                              "published": published,
                              "ticks_missed": ticks[:2] if ticks else None}), flush=True)
            check(published is not None, f"run {run}: no closing log line from the node:\n"
                  f"{log_tail(p)}")
            check(code == 0, f"run {run}: exit code {code} after SIGINT:\n{log_tail(p)}")
            text = log_tail(p, 200)
            check("malloc" not in text and "Aborted" not in text and "panicked" not in text,
                  f"run {run}: abort or panic in the log:\n{log_tail(p)}")
        except Failed as e:
            failures.append(str(e))
            print(json.dumps({"phase": "sigint", "run": run, "failed": str(e)}), flush=True)
        finally:
            publishing["on"] = False
            if p.poll() is None:
                p.kill()
                p.wait()
        if failures and run == 0:
            break

    # Float64MultiArray output: one setpoint per tick.
    if not failures:
        got["arr"].clear()
        p, topic = start("float64_array", "array")
        try:
            wait_matched(p, topic)
            publishing["on"] = True
            ok = spin_until(lambda: len(got["arr"]) >= a.want_array or p.poll() is not None,
                            a.timeout)
            check(ok and p.poll() is None,
                  f"{len(got['arr'])} of {a.want_array} arrays in {a.timeout} s:\n{log_tail(p)}")
            tick_step = [v / a.rate_hz for v in VEL_MAX]
            for i, (_, m) in enumerate(list(got["arr"])[: a.want_array]):
                d = list(m.data)
                check(len(d) == len(JOINTS), f"array {i}: {len(d)} values")
                check(all(math.isfinite(x) for x in d), f"array {i}: non-finite {d}")
                check(len(m.layout.dim) == 1 and m.layout.dim[0].label == ",".join(JOINTS),
                      f"array {i}: layout {m.layout}")
                for j, x in enumerate(d):
                    check(POS_MIN[j] - EPS <= x <= POS_MAX[j] + EPS,
                          f"array {i} joint {JOINTS[j]}: {x} outside the box")
                if i == 0:
                    for j, x in enumerate(d):
                        check(abs(x - STATE[j]) <= tick_step[j] * (1 + 1e-6) + 1e-9,
                              f"first setpoint joint {JOINTS[j]}: {x} is more than one tick "
                              f"({tick_step[j]}) from the state {STATE[j]}")
            n = a.want_array
            span = got["arr"][n - 1][0] - got["arr"][0][0]
            rate = (n - 1) / span if span > 0 else float("inf")
            code, dt = stop(p)
            st = stats(p)
            print(json.dumps({"phase": "float64_array", "checked": a.want_array,
                              "received": len(got["arr"]), "published": st[2] if st else None,
                              "first": list(got["arr"][0][1].data),
                              "received_hz": round(rate, 1), "exit_code": code}), flush=True)
            check(code == 0, f"float64_array: exit code {code} after SIGINT:\n{log_tail(p)}")
        except Failed as e:
            failures.append(str(e))
            print(json.dumps({"phase": "float64_array", "failed": str(e)}), flush=True)
        finally:
            publishing["on"] = False
            if p.poll() is None:
                p.kill()
                p.wait()

    if report["final_holds"] < min_holds:
        failures.append(f"final hold reached the subscriber in {report['final_holds']} of "
                        f"{a.sigint_runs} SIGINT runs (need {min_holds})")
    report["failures"] = failures
    report["logs"] = log_dir
    print(json.dumps({"summary": report}), flush=True)
    peer.destroy_node()
    rclpy.shutdown()
    if failures:
        for f in failures:
            print(f"FAIL: {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
