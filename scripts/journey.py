#!/usr/bin/env python3
"""The user journey on the simulated ROS 2 arm (bridges/ros_arm), end to end, as one command:

  1. demos    the simulator (rclpy, MuJoCo) and its scripted teleoperator; `ndp record` writes
              the live topics into a rosbag2 MCAP bag, as `ros2 bag record` would
  2. bc       `ndp train-bc` on that bag: an image + joint-position NDP
  3. bc-serve `ndp_policy` (embedded transport, config/ndp_policy_arm.yaml) on the trained bundle
              closes the loop with the simulator on fresh targets; its topics recorded too
  4. idle     the same episodes with nothing commanding: the do-nothing baseline
  5. ppo      `ndp train-ppo` (config/ppo_arm.yaml) in the same MuJoCo task through its socket
              bridge (bridges/ros_arm/bridge.py: no ROS, no rendering, ~5,000 steps/s)
  6. ppo-serve `ndp_policy` (config/ndp_policy_arm_ppo.yaml) on the exported PPO bundle, against
              the ROS simulator, as in 3
  7. report   success rates, wall time per stage, the demo bag read back by `rosbags`, a plot of
              the served motion against the expert's, camera frames with the planned path drawn:
              OUT/summary.json, OUT/*.png; OUT/commands.sh: every command run, in order, as a
              shell script to replay by hand

Run by scripts/demo.sh (set-up, build, a private network namespace); every ROS participant is
loopback-only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) on --domain. Sizes: --demos, --episodes,
--epochs, --ppo-steps, --targets; --skip-ppo, --skip-idle, --reuse-demos, --reuse-bc. Exit 1 when
a stage fails or the --min-* / --max-below-expert checks do not hold.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SIM = ROOT / "bridges/ros_arm/arm_sim.py"
EXPERT = ROOT / "bridges/ros_arm/arm_expert.py"
TOPICS = [
    "/joint_states:sensor_msgs/msg/JointState",
    "/camera/image_raw:sensor_msgs/msg/Image",
    "/joint_trajectory_controller/joint_trajectory:trajectory_msgs/msg/JointTrajectory",
    "/task/observation:std_msgs/msg/Float64MultiArray",
    "/task/result:std_msgs/msg/Float64MultiArray",
]
SERVE_TOPICS = TOPICS[:3] + ["/ndp_policy/dmp_plan:ndp_ros_msgs/msg/DmpPlan", TOPICS[4]]


class Transcript:
    """The commands the journey runs, as a shell script to replay by hand (OUT/commands.sh):
    long-running processes started with `&`, the simulator waited for (it exits after its
    episodes), the others stopped with SIGINT, as journey.py does."""

    lines = []
    out = None

    @classmethod
    def word(cls, w):
        w = str(w).replace(str(ROOT) + "/", "").replace(sys.executable, ".venv-ros/bin/python")
        if cls.out and str(cls.out) in w:
            return '"' + w.replace(str(cls.out), "$OUT") + '"'
        return shlex.quote(w)

    @classmethod
    def add(cls, cmd, background=None):
        line = " ".join(cls.word(c) for c in cmd)
        cls.lines.append(f"{line} & {background}=$!" if background else line)

    @classmethod
    def write(cls, path, domain):
        head = ["#!/usr/bin/env bash",
                "# The commands scripts/journey.py ran, in order (written by it): replay by hand",
                "# from the repository root after `bash scripts/demo.sh` has set up and built.",
                "set -e", "source scripts/ros_env.sh",
                f"export ROS_DOMAIN_ID={domain} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST",
                'OUT="${OUT:-runs/journey}"; mkdir -p "$OUT"']
        path.write_text("\n".join(head + cls.lines) + "\n")


class Stage:
    """Prints a stage's start and end with its wall time; collects the times for the summary."""

    times = {}

    def __init__(self, name, what):
        self.name, self.what = name, what

    def __enter__(self):
        self.t0 = time.monotonic()
        print(f"[{self.name}] {self.what}", file=sys.stderr, flush=True)
        Transcript.lines.append(f"\n# [{self.name}] {self.what}")
        return self

    def __exit__(self, kind, *_):
        dt = time.monotonic() - self.t0
        Stage.times[self.name] = round(dt, 1)
        state = "done" if kind is None else "FAILED"
        print(f"[{self.name}] {state} in {dt:.1f} s", file=sys.stderr, flush=True)


class Procs:
    """Child processes of one stage: all stopped (SIGINT, then SIGKILL) when the stage ends."""

    def __init__(self, logs):
        self.logs, self.ps = logs, []

    def start(self, name, cmd, env=None):
        log = open(self.logs / f"{name}.log", "w")
        p = subprocess.Popen([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT,
                             env=env, cwd=ROOT)
        p.name = name
        self.ps.append(p)
        Transcript.add(cmd, background=name)
        return p

    def stop(self, p, timeout=15.0):
        Transcript.lines.append(f"kill -INT ${p.name}; wait ${p.name} || true")
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise RuntimeError(f"{p.name} did not stop on SIGINT within {timeout} s")
        return p.returncode

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for p in reversed(self.ps):
            if p.poll() is None:
                p.kill()
                p.wait()


def tail(path, n=20):
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(True)[-n:])
    except OSError:
        return ""


def run(cmd, log, timeout):
    """Runs a foreground step (a trainer), its progress on this terminal, its log kept."""
    Transcript.add(cmd)
    with open(log, "w") as f:
        p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=ROOT, text=True, bufsize=1)
        last = ""
        deadline = time.monotonic() + timeout
        for line in p.stdout:
            f.write(line)
            last = line
            if sys.stderr.isatty():
                print("   " + line.rstrip()[:150], file=sys.stderr, flush=True)
            if time.monotonic() > deadline:
                p.kill()
                raise RuntimeError(f"{cmd[0]} ran past {timeout} s (log: {log})")
        if p.wait() != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd[:2]))} failed (exit {p.returncode}); "
                               f"log {log}:\n{tail(log)}")
    return last


def train(cmd, log, timeout):
    """A trainer run with --json: its closing JSON line (or the last line, if it printed none)."""
    line = run(cmd, log, timeout)
    return json.loads(line) if line.startswith("{") else line


def episodes(sim, results, n, a):
    """Waits for the simulator's n episodes, printing each as it ends; returns the results."""
    timeout = 60 + n * (a.episode_s + 3)  # real time, resets, and start-up
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        lines = results.read_text().splitlines() if results.exists() else []
        for line in lines[len(seen):]:
            r = json.loads(line)
            seen.append(r)
            print(f"   episode {len(seen)}/{n}: {'success' if r['success'] else 'miss'} "
                  f"(final distance {100 * r['distance']:.1f} cm)", file=sys.stderr, flush=True)
        if len(seen) >= n:
            break
        code = sim.poll()
        if code is not None and len(seen) < n:
            raise RuntimeError(f"the simulator exited ({code}) after {len(seen)} of {n} episodes")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(seen)} of {n} episodes after {timeout} s")
        # Polling the results file the simulator appends to; its own pace is real time.
        time.sleep(0.2)
    sim.wait(30)
    return seen


def simulate(ps, a, name, n, seed, subscribers, policy_node=None):
    """Runs the simulator for n episodes (after `subscribers` readers of /joint_states have
    appeared; with policy_node, switching that node off and on around each reset) and
    returns the episodes' results."""
    results = a.out / f"{name}_results.jsonl"
    results.unlink(missing_ok=True)
    sim = ps.start(name + "_sim", [
        PY, SIM, "--episodes", n, "--episode-s", a.episode_s, "--seed", seed,
        "--targets", a.targets, "--image-size", 64, "--results", results,
        "--wait-for-subscribers", subscribers] + (
            ["--policy-node", policy_node] if policy_node else []))
    Transcript.lines.append(f"wait ${sim.name}  # the simulator exits after its {n} episodes")
    return episodes(sim, results, n, a)


def outcome(rs):
    return {"episodes": len(rs), "success_rate": sum(1 for r in rs if r["success"]) / max(len(rs), 1)}


def serve(a, name, params, checkpoint, seed, out, logs):
    """ndp_policy on a bundle against the simulator; returns the episodes' outcome."""
    shutil.rmtree(out / f"{name}_bag", ignore_errors=True)
    Transcript.add(["rm", "-rf", out / f"{name}_bag"])
    with Procs(logs) as ps:
        node = ps.start(name + "_node", [ROOT / "target/debug/ndp_policy", "--ros-args",
                                         "--params-file", params, "-p",
                                         f"checkpoint:={checkpoint}"])
        rec = ps.start(name + "_record", [ROOT / "target/debug/ndp", "record", "--out",
                                          out / f"{name}_bag"]
                       + [x for t in SERVE_TOPICS for x in ("--topic", t)])
        # Two subscribers of /joint_states before the first episode: the node and the recorder.
        rs = simulate(ps, a, name, a.episodes, seed, 2, "ndp_policy")
        if node.poll() is not None:
            raise RuntimeError(f"ndp_policy exited ({node.returncode}):\n"
                               f"{tail(logs / (name + '_node.log'))}")
        ps.stop(rec)
        code = ps.stop(node)
        if code != 0:
            raise RuntimeError(f"ndp_policy exit {code} on SIGINT")
    return outcome(rs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "runs/journey")
    ap.add_argument("--demos", type=int, default=24)
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--ppo-steps", type=int, default=200000)
    ap.add_argument("--targets", type=int, default=4, help="0: anywhere; N: one of N places")
    ap.add_argument("--episode-s", type=float, default=3.0)
    ap.add_argument("--domain", type=int, default=42)
    ap.add_argument("--demo-noise", type=float, default=0.1,
                    help="the teleoperator's first-reach error (rad, std), corrected after")
    ap.add_argument("--skip-ppo", action="store_true", help="leave out the PPO stages")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--bc-config", default="config/bc_arm_bag.yaml")
    ap.add_argument("--bc-params", default="config/ndp_policy_arm.yaml")
    ap.add_argument("--reuse-demos", action="store_true",
                    help="train from OUT/demos_bag of an earlier run instead of recording")
    ap.add_argument("--reuse-bc", action="store_true",
                    help="serve OUT/arm-bc of an earlier run instead of training (with --reuse-demos)")
    ap.add_argument("--max-below-expert", type=float, default=None,
                    help="fail unless each served policy's success >= the expert's minus this")
    ap.add_argument("--min-expert", type=float, default=None,
                    help="fail unless the expert's success >= this")
    ap.add_argument("--min-ppo", type=float, default=None,
                    help="fail unless PPO-served success >= this")
    ap.add_argument("--min-above-idle", type=float, default=None,
                    help="fail unless each served policy's success is this far above doing nothing")
    a = ap.parse_args()
    out = a.out = a.out.resolve()
    Transcript.out = out
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ["ROS_DOMAIN_ID"] = str(a.domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    summary = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}}
    t_all = time.monotonic()
    try:
        bag = out / "demos_bag"
        if a.reuse_demos:
            old = json.loads((out / "summary.json").read_text())
            summary["expert"], summary["bag"] = old["expert"], old["bag"]
        else:
            with Stage("demos", f"{a.demos} expert demonstrations recorded into {bag.name}"):
                shutil.rmtree(bag, ignore_errors=True)
                Transcript.add(["rm", "-rf", bag])
                with Procs(logs) as ps:
                    rec = ps.start("demos_record", [ROOT / "target/debug/ndp", "record", "--out", bag,
                                                    "--json"]
                                   + [x for t in TOPICS for x in ("--topic", t)])
                    expert = ps.start("demos_expert", [PY, EXPERT, "--noise-rad",
                                                          a.demo_noise])
                    rs = simulate(ps, a, "demos", a.demos, 1, 2)
                    ps.stop(expert)
                    ps.stop(rec)
                summary["expert"] = outcome(rs)
                summary["bag"] = read_back(bag, logs / "demos_record.log")

        if a.reuse_bc:
            summary["bc_training"] = json.loads((out / "summary.json").read_text())["bc_training"]
        else:
            with Stage("bc", f"ndp train-bc on the bag ({a.epochs} epochs)"):
                summary["bc_training"] = train([ROOT / "target/debug/ndp", "train-bc", "--config",
                                                a.bc_config, "--data", bag, "--out",
                                                out / "arm-bc", "--epochs", a.epochs, "--json"],
                                               logs / "bc_train.log", 1800)

        with Stage("bc-serve", f"ndp_policy on the BC bundle, {a.episodes} fresh episodes"):
            summary["bc_served"] = serve(a, "bc", a.bc_params, out / "arm-bc", 2, out, logs)

        if not a.skip_idle:
            with Stage("idle", f"{a.episodes} episodes with nothing commanding (baseline)"):
                with Procs(logs) as ps:
                    summary["do_nothing"] = outcome(simulate(ps, a, "idle", a.episodes, 2, 0))

        if not a.skip_ppo:
            with Stage("ppo", f"ndp train-ppo through the simulator's bridge ({a.ppo_steps} steps)"):
                summary["ppo_training"] = train([ROOT / "target/debug/ndp", "train-ppo",
                                                 "--config", "config/ppo_arm.yaml", "--out",
                                                 out / "arm-ppo", "--steps", a.ppo_steps,
                                                 "--json"], logs / "ppo_train.log", 3600)
            with Stage("ppo-serve", f"ndp_policy on the PPO bundle, {a.episodes} fresh episodes"):
                summary["ppo_served"] = serve(a, "ppo", "config/ndp_policy_arm_ppo.yaml",
                                              out / "arm-ppo/policy", 2, out, logs)

        with Stage("report", "plots and frames (scripts/journey_report.py, in .venv)"):
            partial = out / "summary_partial.json"
            partial.write_text(json.dumps(summary))
            cmd = [ROOT / ".venv/bin/python", ROOT / "scripts/journey_report.py", out, partial]
            Transcript.lines.append("# (journey.py then draws the pictures from its summary with "
                                    "scripts/journey_report.py)")
            p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"journey_report failed: {p.stderr[-3000:]}")
            summary["pictures"] = json.loads(p.stdout.strip().splitlines()[-1])
    except Exception as e:  # noqa: BLE001 - every failure ends in the summary and exit 1
        summary["error"] = str(e)
        print(f"journey: {e}", file=sys.stderr)
    summary["stage_seconds"] = Stage.times
    summary["total_seconds"] = round(time.monotonic() - t_all, 1)
    failed = "error" in summary
    e = summary.get("expert", {})
    if not failed and a.max_below_expert is not None:
        for k in ("bc_served", "ppo_served"):
            if k in summary and (summary[k]["success_rate"]
                                 < e["success_rate"] - a.max_below_expert):
                summary["error"] = (f"{k} success {summary[k]['success_rate']:.2f} is more than "
                                    f"{a.max_below_expert} below the expert's "
                                    f"{e['success_rate']:.2f}")
    if not failed and a.min_ppo is not None and not a.skip_ppo:
        if summary["ppo_served"]["success_rate"] < a.min_ppo:
            summary["error"] = (f"PPO-served success {summary['ppo_served']['success_rate']:.2f}"
                                f" < {a.min_ppo}")
    if not failed and a.min_expert is not None:
        if summary["expert"]["success_rate"] < a.min_expert:
            summary["error"] = f"expert success {summary['expert']['success_rate']:.2f} < {a.min_expert}"
    if not failed and a.min_above_idle is not None:
        idle = summary["do_nothing"]["success_rate"]
        for k in ("bc_served", "ppo_served"):
            if k in summary and summary[k]["success_rate"] < idle + a.min_above_idle:
                summary["error"] = (f"{k} success {summary[k]['success_rate']:.2f} is not "
                                    f"{a.min_above_idle} above doing nothing ({idle:.2f})")
    Transcript.write(out / "commands.sh", a.domain)
    summary["commands"] = str(out / "commands.sh")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    sys.exit(1 if "error" in summary else 0)


def read_back(bag, record_log):
    """The bag as `rosbags` (an independent reader, in the test venv .venv) sees it: topics,
    types, the counts its metadata states and the messages actually read
    (scripts/journey_report.py --read-back)."""
    p = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/journey_report.py"),
                        "--read-back", str(bag)], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"rosbags could not read {bag}: {p.stderr[-2000:]}")
    return {"path": str(bag), "topics": json.loads(p.stdout),
            "recorder": tail(record_log, 2).strip()}


if __name__ == "__main__":
    main()
