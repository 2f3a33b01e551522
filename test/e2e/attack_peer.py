"""A hostile or broken robot environment for ndp_policy, as an independent Cyclone DDS peer
(PyPI `cyclonedds`, no ROS install), driven by test/e2e_attack.rs.

Scenarios:
  joint_flood  sensor_msgs/JointState attacks against a float64_array node: good states, then a
               flood of bad ones mixed with good ones, then bad ones only (the watchdog must
               hold), then nothing (still holding), then good ones again (resumes).
  image_flood  the same with sensor_msgs/Image attacks (wrong encodings, a 8000x8000 claim,
               oversized data, bad steps) against an image-observation float64_array node.
  fast_states  good joint states at --state-hz (a joint_state_broadcaster at controller rate).
  sigint       good states in, JointTrajectory out; prints {"ready": ...} once trajectories
               flow (the test then sends SIGINT to the node) and reports what arrived after.

Every command the node publishes is printed as one JSON line {"type": "cmd", "src": source
timestamp ns, "data": [...]} (float64_array) or {"type": "traj", ...}; every phase as
{"type": "phase", "name", "t0", "t1"} (wall-clock ns, comparable to source timestamps on one
machine); then {"type": "summary", ...} with what was sent and Cyclone's sample-lost count.
Run with CYCLONEDDS_URI pointing at a loopback-only configuration.
"""
import argparse
import json
import math
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cyclonedds.core import Policy, Qos  # noqa: E402
from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.pub import DataWriter  # noqa: E402
from cyclonedds.sub import DataReader  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402
from cyclonedds.util import duration  # noqa: E402

from ros2_peer import (RELIABLE, SENSOR, Float64MultiArray, Header, Image, JointState,  # noqa: E402
                       JointTrajectory, Time)


# Everything the node sends is kept until taken: a slow take loop loses nothing.
RECEIVE_ALL = Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepAll,
                  Policy.Durability.Volatile)

NAN, INF = float("nan"), float("inf")


def emit(obj):
    print(json.dumps(obj), flush=True)


def stamp():
    ns = time.time_ns()
    return Header(stamp=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000), frame_id="")


def wait_matched(entities, timeout):
    """Until every writer/reader has matched a peer endpoint (the node's)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ok = True
        for e in entities:
            st = (e.get_publication_matched_status() if isinstance(e, DataWriter)
                  else e.get_subscription_matched_status())
            ok &= st.current_count > 0
        if ok:
            return True
        time.sleep(0.02)
    return False


class Collector(threading.Thread):
    """Takes everything the node publishes, with source timestamps."""

    def __init__(self, reader, kind):
        super().__init__(daemon=True)
        self.reader, self.kind = reader, kind
        self.got = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.drain()
            time.sleep(0.003)
        self.drain()

    def drain(self):
        for m in self.reader.take(N=1000):
            if not m.sample_info.valid_data:
                continue  # the node's writer went away (an InvalidSample)
            src = m.sample_info.source_timestamp
            if self.kind == "array":
                rec = {"type": "cmd", "src": src, "data": list(m.data)}
            else:
                rec = {"type": "traj", "src": src, "names": list(m.joint_names),
                       "points": [{"p": list(p.positions), "v": list(p.velocities),
                                   "t": p.time_from_start.sec + p.time_from_start.nanosec * 1e-9}
                                  for p in m.points]}
            with self.lock:
                self.got.append(rec)

    def count(self):
        with self.lock:
            return len(self.got)


def phase(name, seconds, body):
    """Calls body(i) for i = 0, 1, ... during `seconds`; emits the phase's span."""
    t0 = time.time_ns()
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        body(i)
        i += 1
    emit({"type": "phase", "name": name, "t0": t0, "t1": time.time_ns()})


def finish(col, reader, sent, **extra):
    """Stops the collector and emits every command it got, then the summary."""
    col.stop.set()
    col.join()
    for r in col.got:
        emit(r)
    emit({"type": "summary", "sent": sent, "lost": reader.get_sample_lost_status().total_count,
          "received": len(col.got), **extra})


def joint_state(names, pos, vel=()):
    return JointState(header=stamp(), name=list(names), position=list(pos), velocity=list(vel),
                      effort=[])


def bad_joint_states(joints, pos):
    """(kind, message factory) pairs; every one must be refused."""
    n = len(joints)
    rev = list(reversed(range(n)))
    names = [joints[i] for i in rev]
    p = [pos[i] for i in rev]

    def with_pos(k, v):
        q = list(p)
        q[k % n] = v
        return lambda: joint_state(names, q)

    kinds = [
        ("nan_position", with_pos(0, NAN)),
        ("inf_position", with_pos(1, -INF)),
        ("1e300_position", with_pos(2, 1e300)),
        ("beyond_f32_position", with_pos(3, 3.5e38)),
        ("nan_velocity", lambda: joint_state(names, p, [0.0] * (n - 1) + [NAN])),
        ("short_positions", lambda: joint_state(names, p[:3])),
        ("long_velocities", lambda: joint_state(names, p, [0.0] * (n + 2))),
        ("missing_joint", lambda: joint_state(names[:-1] + ["not_a_joint"], p)),
        ("empty", lambda: joint_state([], [])),
        ("names_only", lambda: joint_state(names, [])),
    ]
    return kinds


def huge_joint_state(count):
    return joint_state([f"j{i}" for i in range(count)], [0.0] * count)


def joint_flood(a, dp):
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    rev = list(reversed(range(len(joints))))
    t_start = [0.0]

    def good():
        # A moving measurement (base + wave), so that the node's commands move while inputs are
        # good and a hold is visible as commands that stop changing. The first 0.5 s: the base,
        # so that the first command can be checked against it.
        s = max(0.0, time.time() - t_start[0] - 0.5)
        w = a.wave * math.sin(2 * math.pi * 0.5 * s)
        return joint_state([joints[i] for i in rev], [pos[i] + w for i in rev])
    # Another order of the same joints: valid, reordered by name by the node.
    perm = rev[len(rev) // 2:] + rev[:len(rev) // 2]
    reordered = lambda: joint_state([joints[i] for i in perm], [pos[i] for i in perm])  # noqa: E731
    writer = DataWriter(dp, Topic(dp, "rt/joint_states", JointState), qos=RELIABLE)
    reader = DataReader(dp, Topic(dp, "rt/forward_position_controller/commands", Float64MultiArray),
                        qos=RECEIVE_ALL)
    if not wait_matched([writer, reader], a.timeout):
        emit({"error": "the node's endpoints were not matched"})
        sys.exit(1)
    time.sleep(0.5)  # the node's side of the match
    col = Collector(reader, "array")
    col.start()
    bad = bad_joint_states(joints, pos)
    sent = {}

    def send(kind, msg):
        writer.write(msg)
        sent[kind] = sent.get(kind, 0) + 1

    def good_every(dt):
        last = [0.0]

        def tick():
            if time.time() - last[0] >= dt:
                send("good", good())
                last[0] = time.time()
        return tick

    g = good_every(0.01)
    t_start[0] = time.time()
    phase("good", a.phase_s, lambda i: (g(), time.sleep(0.002)))
    # The flood: a.bad bad samples as fast as they go, good states every 10 ms beside them,
    # and now and then a valid message in another joint order and a 100k-name one.
    t_flood = time.time()
    t0 = time.time_ns()
    for i in range(a.bad):
        g()
        if i % 500 == 0:
            send("reordered", reordered())
        if i % 2500 == 0:
            send("100k_names", huge_joint_state(100_000))
        kind, make = bad[i % len(bad)]
        send(kind, make())
    g()
    emit({"type": "phase", "name": "flood", "t0": t0, "t1": time.time_ns(),
          "seconds": time.time() - t_flood})
    # Bad ones only: nothing refreshes the state, so the watchdog must hold.

    def only_bad(i):
        kind, make = bad[i % len(bad)]
        send(kind, make())
        if i % 2000 == 0:
            send("100k_names", huge_joint_state(100_000))
        time.sleep(0.0005)
    phase("bad_only", a.phase_s, only_bad)
    phase("silence", a.phase_s, lambda i: time.sleep(0.01))
    phase("good_again", a.phase_s, lambda i: (g(), time.sleep(0.002)))
    time.sleep(0.3)  # the node's last commands
    finish(col, reader, sent)


def image_flood(a, dp):
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    js_writer = DataWriter(dp, Topic(dp, "rt/joint_states", JointState), qos=RELIABLE)
    img_writer = DataWriter(dp, Topic(dp, "rt/camera/image_raw", Image), qos=SENSOR)
    reader = DataReader(dp, Topic(dp, "rt/forward_position_controller/commands", Float64MultiArray),
                        qos=RECEIVE_ALL)
    if not wait_matched([js_writer, img_writer, reader], a.timeout):
        emit({"error": "the node's endpoints were not matched"})
        sys.exit(1)
    time.sleep(0.5)
    col = Collector(reader, "array")
    col.start()
    sent = {}
    w, h = 64, 48
    good_data = bytes((x * 4 + y * 2 + c * 50) % 256 for y in range(h) for x in range(w) for c in range(3))

    def image(width, height, enc, step, data):
        return Image(header=stamp(), height=height, width=width, encoding=enc, is_bigendian=0,
                     step=step, data=data)

    big = a.image_max_bytes + 3 * 100  # just over the bound, with a consistent header
    side = int(math.ceil(math.sqrt(big / 3)))
    bad = [
        ("encoding_rgba8", lambda: image(w, h, "rgba8", w * 4, bytes(w * h * 4))),
        ("encoding_16UC1", lambda: image(w, h, "16UC1", w * 2, bytes(w * h * 2))),
        ("encoding_empty", lambda: image(w, h, "", w * 3, good_data)),
        ("encoding_long", lambda: image(w, h, "x" * 5000, w * 3, good_data)),
        ("claim_8000x8000", lambda: image(8000, 8000, "rgb8", 24000, good_data)),
        ("claim_8000x8000_mono", lambda: image(8000, 8000, "mono8", 8000, bytes(64))),
        ("step_too_small", lambda: image(w, h, "rgb8", w, good_data)),
        ("step_overflow", lambda: image(w, h, "rgb8", 0xFFFFFFFF, good_data)),
        ("zero_size", lambda: image(0, 0, "rgb8", 0, b"")),
        ("width_overflow", lambda: image(0xFFFFFFFF, 0xFFFFFFFF, "mono8", 0xFFFFFFFF, bytes(16))),
        ("over_image_max_bytes", lambda: image(side, side, "rgb8", side * 3, bytes(side * side * 3))),
    ]

    def send_img(kind, msg):
        img_writer.write(msg)
        sent[kind] = sent.get(kind, 0) + 1

    def send_state():
        js_writer.write(joint_state(joints, pos))
        sent["state"] = sent.get("state", 0) + 1

    last = {"state": 0.0, "img": 0.0}

    def keep(state=True, img=True):
        now = time.time()
        if state and now - last["state"] >= 0.01:
            send_state()
            last["state"] = now
        if img and now - last["img"] >= 0.02:
            send_img("good", image(w, h, "rgb8", w * 3, good_data))
            last["img"] = now

    phase("good", a.phase_s, lambda i: (keep(), time.sleep(0.002)))
    t_flood = time.time()
    t0 = time.time_ns()
    for i in range(a.bad):
        keep()
        kind, make = bad[i % len(bad)]
        if kind == "over_image_max_bytes" and i % (20 * len(bad)) != len(bad) - 1:
            continue  # the big one now and then
        send_img(kind, make())
        if i % 20 == 0:
            time.sleep(0.0005)  # best effort: leave the node's socket some room
    emit({"type": "phase", "name": "flood", "t0": t0, "t1": time.time_ns(),
          "seconds": time.time() - t_flood})

    # States stay fresh, images are all bad: the image input goes stale and the node holds.
    def only_bad(i):
        keep(img=False)
        kind, make = bad[i % (len(bad) - 1)]
        send_img(kind, make())
        time.sleep(0.0005)
    phase("bad_only", a.phase_s, only_bad)
    phase("silence", a.phase_s, lambda i: time.sleep(0.01))
    phase("good_again", a.phase_s, lambda i: (keep(), time.sleep(0.002)))
    time.sleep(0.3)  # the node's last commands
    finish(col, reader, sent)


def fast_states(a, dp):
    """Good states at --state-hz for phase_s seconds; the commands as in joint_flood."""
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    writer = DataWriter(dp, Topic(dp, "rt/joint_states", JointState), qos=RELIABLE)
    reader = DataReader(dp, Topic(dp, "rt/forward_position_controller/commands", Float64MultiArray),
                        qos=RECEIVE_ALL)
    if not wait_matched([writer, reader], a.timeout):
        emit({"error": "the node's endpoints were not matched"})
        sys.exit(1)
    time.sleep(0.5)
    col = Collector(reader, "array")
    col.start()
    t0 = time.time_ns()
    end = time.time() + a.phase_s
    n = 0
    next_t = time.time()
    while time.time() < end:
        writer.write(joint_state(joints, pos))
        n += 1
        next_t += 1.0 / a.state_hz
        delay = next_t - time.time()
        if delay > 0:
            time.sleep(delay)
    emit({"type": "phase", "name": "fast", "t0": t0, "t1": time.time_ns()})
    time.sleep(0.2)
    finish(col, reader, {"good": n}, rate_hz=n / a.phase_s)


def sigint(a, dp):
    joints = a.joints.split(",")
    pos = [float(v) for v in a.positions.split(",")]
    writer = DataWriter(dp, Topic(dp, "rt/joint_states", JointState), qos=RELIABLE)
    reader = DataReader(dp, Topic(dp, "rt/joint_trajectory_controller/joint_trajectory",
                                  JointTrajectory), qos=RECEIVE_ALL)
    col = Collector(reader, "traj")
    col.start()
    deadline = time.time() + a.timeout
    ready_at = None
    # States until `want` trajectories came, then "ready" (the test sends SIGINT), then states
    # on for `linger` seconds while the node stops and the final hold comes in.
    while time.time() < deadline:
        writer.write(joint_state(joints, pos))
        if ready_at is None and col.count() >= a.want:
            ready_at = time.time()
            emit({"ready": col.count()})
        if ready_at is not None and time.time() - ready_at > a.linger:
            break
        time.sleep(0.01)
    col.stop.set()
    col.join()
    if ready_at is None:
        emit({"error": f"received {col.count()} of {a.want} trajectories in {a.timeout} s"})
        sys.exit(1)
    for r in col.got:
        emit(r)
    emit({"type": "summary", "received": len(col.got),
          "lost": reader.get_sample_lost_status().total_count})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", type=int, required=True)
    ap.add_argument("--scenario", choices=["joint_flood", "image_flood", "fast_states", "sigint"], required=True)
    ap.add_argument("--joints", default="j1,j2,j3,j4,j5,j6,j7")
    ap.add_argument("--positions", default="0.1,0.2,0.3,-1.0,0.5,1.0,0.2")
    ap.add_argument("--bad", type=int, default=10_000, help="bad samples in the flood")
    ap.add_argument("--phase-s", type=float, default=1.5, help="seconds of each other phase")
    ap.add_argument("--state-hz", type=float, default=1000.0, help="fast_states: states per second")
    ap.add_argument("--wave", type=float, default=0.3, help="amplitude of the good states' motion")
    ap.add_argument("--image-max-bytes", type=int, default=100_000)
    ap.add_argument("--want", type=int, default=5)
    ap.add_argument("--linger", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    dp = DomainParticipant(a.domain)
    scenarios = {"joint_flood": joint_flood, "image_flood": image_flood, "fast_states": fast_states,
                 "sigint": sigint}
    scenarios[a.scenario](a, dp)


if __name__ == "__main__":
    main()
