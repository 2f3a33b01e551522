#!/usr/bin/env bash
# Bag reading side by side with PyPI rosbags, in one run: a bag of 1M JointState messages
# (7 joints; written by `ndp bench bag` if missing), every message read and decoded, one warm
# pass then one timed pass each. Writes results/bench_bags.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q
bag=${BAG:-runs/bench_bag_1m}
ours=$(./target/release/ndp bench bag --bag "$bag" --messages 1000000 --json | tail -n 1)
theirs=$(.venv/bin/python benches/rosbags_read.py "$bag")
mkdir -p results
python3 - "$ours" "$theirs" <<'PY' | tee results/bench_bags.json
import json, sys
ours, theirs = (json.loads(a) for a in sys.argv[1:])
print(json.dumps({"ours": ours, "rosbags": theirs, "ratio": ours["messages_per_s"] / theirs["messages_per_s"]}))
PY
