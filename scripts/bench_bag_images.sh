#!/usr/bin/env bash
# Reading a ~1 GB bag of 640x480 rgb8 camera images side by side with PyPI rosbags, in one
# run (both from the page cache, one warm pass each): ours maps the file and decodes
# `ImageRef`s whose pixels stay in place. Writes results/bench_bag_images.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q
bag=${BAG:-runs/bench_images_1gb}
ours=$(./target/release/ndp bench bag-images --bag "$bag" --gb 1.0 --json | tail -n 1)
theirs=$(.venv/bin/python benches/rosbags_read.py "$bag")
mkdir -p results
python3 - "$ours" "$theirs" <<'PY' | tee results/bench_bag_images.json
import json, sys
ours, theirs = (json.loads(a) for a in sys.argv[1:])
print(json.dumps({"ours": ours, "rosbags": theirs, "ratio": ours["mb_per_s"] / theirs["mb_per_s"]}))
PY
