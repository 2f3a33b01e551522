#!/usr/bin/env bash
# The main job on a fresh machine, no ROS install needed: generate the digit-writing set
# (10,000 train / 2,000 held out), train NDP for 8 epochs (under a minute on 2 cores), evaluate, and
# write the plots into runs/quick/ (trajectories.png, learning_curve.png, eval.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release
ndp=./target/release/ndp
[ -f data/digits/meta.yaml ] || $ndp digits generate --out data/digits --train 10000 --test 2000 --seed 0
$ndp train-bc --config config/digits_ndp.yaml --epochs 8 --out runs/quick
$ndp eval --run runs/quick --json
echo "plots: runs/quick/trajectories.png runs/quick/learning_curve.png" >&2
