#!/usr/bin/env bash
# Every benchmark figure of the README, one JSON object per line into results/bench.jsonl.
# Run on a quiet machine (the loop-jitter runs take 2 x 60 s). DDS stays on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
ndp=./target/release/ndp
out=results/bench.jsonl
mkdir -p results
: > "$out"
run() { echo "+ ndp $*" >&2; "$ndp" "$@" --json | tail -n 1 | tee -a "$out"; }
run bench dmp
run bench train-step --conv candle --iters 20
run bench train-step --conv im2col --threads 1
run bench train-step --conv im2col --threads 2
run bench tick
run bench jitter --rate 500 --seconds "${JITTER_SECONDS:-60}"
run bench jitter --rate 1000 --seconds "${JITTER_SECONDS:-60}"
ROS_LOCALHOST_ONLY=1 run bench latency --model state
ROS_LOCALHOST_ONLY=1 run bench latency --model image
