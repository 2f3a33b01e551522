#!/usr/bin/env python3
"""Pictures of a journey run (scripts/journey.py), from what was recorded while ndp_policy
drove the simulated arm (OUT/bc_bag, read with `rosbags`) and the simulator's per-episode
results:
  success.png           success rates: expert, BC served, PPO served, nothing commanding
  served_vs_expert.png  joint positions under the served BC policy against the expert's motion
                        (min-jerk to its IK solution, from the same start) for the same targets
  frames.png            camera frames as the node received them, with the target, the path the
                        end effector took, the commanded trajectory at that moment (the node's
                        JointTrajectory points) and the goal of the plan (DmpPlan.g) drawn
Run in the test venv (.venv: rosbags, matplotlib): `.venv/bin/python scripts/journey_report.py
OUT`; journey.py calls it. Prints the list of pictures as JSON. With `--read-back BAG`: the
bag's topics, types and counts as rosbags reads them, as JSON (the journey's summary).
"""
import bisect
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from rosbags.typesys import Stores, get_types_from_msg, get_typestore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bridges/ros_arm"))
import kinematics as kin  # noqa: E402



def read(bag):
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(get_types_from_msg((ROOT / "msg/DmpPlan.msg").read_text(),
                                      "ndp_ros_msgs/msg/DmpPlan"))
    out = {"js": [], "img": [], "cmd": [], "plan": []}
    wanted = ("/joint_states", "/camera/image_raw", "joint_trajectory", "dmp_plan")
    with Reader(bag) as r:
        used = [c for c in r.connections if c.topic.endswith(wanted)]
        for c, t, raw in r.messages(connections=used):
            m = store.deserialize_cdr(raw, c.msgtype)
            if c.topic == "/joint_states":
                order = [list(m.name).index(j) for j in kin.JOINTS]
                out["js"].append((t, np.asarray(m.position)[order]))
            elif c.topic == "/camera/image_raw":
                img = np.frombuffer(bytes(m.data), np.uint8).reshape(m.height, m.width, 3)
                out["img"].append((t, img))
            elif c.topic.endswith("joint_trajectory"):
                pts = np.array([p.positions for p in m.points])
                out["cmd"].append((t, pts))
            elif c.topic.endswith("dmp_plan"):
                out["plan"].append((t, np.asarray(m.g)))
    return out


def episodes(js, n, gap_ns=500_000_000):
    """The last n runs of joint states separated by silences (the simulator's reset gaps)."""
    cuts = [0] + [i for i in range(1, len(js)) if js[i][0] - js[i - 1][0] > gap_ns] + [len(js)]
    segs = [js[a:b] for a, b in zip(cuts, cuts[1:]) if b - a > 10]
    return segs[-n:]


def latest(series, t, since=0):
    """The value of the newest (time, value) at or before t (and not before `since`)."""
    i = bisect.bisect_right(series, t, key=lambda x: x[0])
    return series[i - 1][1] if i and series[i - 1][0] >= since else None


def report(out, summary):
    out = Path(out)
    pics = []
    rates = [("expert", summary.get("expert")), ("BC served", summary.get("bc_served")),
             ("PPO served", summary.get("ppo_served")), ("nothing", summary.get("do_nothing"))]
    rates = [(k, v["success_rate"], v["episodes"]) for k, v in rates if v]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bars = ax.bar([k for k, _, _ in rates], [r for _, r, _ in rates],
                  color=["grey", "tab:blue", "tab:orange", "lightgrey"][: len(rates)])
    for b, (_, r, n) in zip(bars, rates):
        ax.text(b.get_x() + b.get_width() / 2, r + 0.02, f"{r:.2f}\n({n} ep.)", ha="center",
                fontsize=8)
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("success rate")
    ax.set_title("reach the target seen by the camera")
    fig.tight_layout()
    fig.savefig(out / "success.png", dpi=120)
    plt.close(fig)
    pics.append(str(out / "success.png"))

    bag = out / "bc_bag"
    results_file = out / "bc_results.jsonl"
    if not bag.exists() or not results_file.exists():
        return pics
    results = [json.loads(x) for x in results_file.read_text().splitlines()]
    d = read(bag)
    segs = episodes(d["js"], len(results))
    results = results[-len(segs):]

    fig, axes = plt.subplots(3, 1, figsize=(7, 6.5), sharex=True)
    colours = plt.cm.tab10.colors
    for e, (seg, res) in enumerate(list(zip(segs, results))[:4]):
        t0 = seg[0][0]
        ts = np.array([(t - t0) * 1e-9 for t, _ in seg])
        q = np.array([v for _, v in seg])
        goal = kin.expert_goal(res["target"])
        ref = np.array([kin.min_jerk(q[0], goal, kin.EXPERT_S, t)[0] for t in ts])
        for j, ax in enumerate(axes):
            ax.plot(ts, q[:, j], color=colours[e], lw=1.6,
                    label=f"episode {res['episode']}: served" if j == 0 else None)
            ax.plot(ts, ref[:, j], color=colours[e], lw=1, ls="--",
                    label="expert, same start and target" if j == 0 and e == 0 else None)
            ax.set_ylabel(f"{kin.JOINTS[j]} (rad)")
    axes[0].legend(fontsize=7, ncol=2)
    axes[-1].set_xlabel("time in episode (s)")
    fig.suptitle("BC policy served by ndp_policy (solid) vs the expert (dashed)")
    fig.tight_layout()
    fig.savefig(out / "served_vs_expert.png", dpi=120)
    plt.close(fig)
    pics.append(str(out / "served_vs_expert.png"))

    n = min(6, len(segs))
    fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        seg, res = segs[k], results[k]
        t = seg[0][0] + 400_000_000  # 0.4 s into the episode: the arm on its way
        img = latest(d["img"], t, since=seg[0][0])
        if img is None:
            continue
        size = img.shape[0]
        ax.imshow(img, interpolation="nearest")
        path = np.array([kin.project([*kin.forward_xy(v), 0.06], size) for _, v in seg])
        ax.plot(path[:, 0], path[:, 1], color="cyan", lw=1, label="ee path taken")
        cmd = latest(d["cmd"], t)
        if cmd is not None and len(cmd):
            c = np.array([kin.project([*kin.forward_xy(p), 0.06], size) for p in cmd])
            ax.plot(c[:, 0], c[:, 1], "m.-", ms=3, lw=1, label="commanded (JointTrajectory)")
        g = latest(d["plan"], t)
        if g is not None:
            gx, gy = kin.project([*kin.forward_xy(g), 0.06], size)
            ax.plot([gx], [gy], "rx", ms=8, mew=2, label="plan goal (DmpPlan.g)")
        tx, ty = kin.project([*res["target"], 0.005], size)
        ax.plot([tx], [ty], "o", mfc="none", mec="lime", ms=12, label="target")
        ax.set_title(f"ep. {res['episode']}: {'success' if res['success'] else 'miss'} "
                     f"({100 * res['distance']:.1f} cm)", fontsize=9)
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle("camera frames 0.4 s into served episodes")
    fig.tight_layout()
    fig.savefig(out / "frames.png", dpi=120)
    plt.close(fig)
    pics.append(str(out / "frames.png"))
    return pics


def read_back(bag):
    """Topics, types, the counts the bag's metadata states and the messages actually read."""
    with Reader(bag) as r:
        topics = {c.topic: {"type": c.msgtype, "count": c.msgcount, "read": 0}
                  for c in r.connections}
        for c, _, _ in r.messages():
            topics[c.topic]["read"] += 1
    return topics


if __name__ == "__main__":
    if sys.argv[1] == "--read-back":
        print(json.dumps(read_back(Path(sys.argv[2]))))
        sys.exit(0)
    out = Path(sys.argv[1])
    summary = json.loads((out / "summary.json").read_text()) if len(sys.argv) < 3 else \
        json.loads(Path(sys.argv[2]).read_text())
    print(json.dumps(report(out, summary)))
