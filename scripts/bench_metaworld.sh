#!/usr/bin/env bash
# NDP against PPO and PPO-multi on Meta-World v3 through the MuJoCo bridge: success rate
# against environment samples, per task and seed, into results/metaworld/; then the raw
# simulator's steps/s (1 and 2 processes) beside the trainer's end-to-end steps/s.
# Usage: bash scripts/bench_metaworld.sh [TASKS] [SEEDS] [STEPS]
#   e.g. bash scripts/bench_metaworld.sh "push-v3 reach-v3" "0 1 2" 1000000
# Long: about 12 min per million steps on 2 cores. Runs niced; finished runs are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${1:-"push-v3 reach-v3"}
SEEDS=${2:-"0 1 2"}
STEPS=${3:-1000000}
bash scripts/setup_mujoco.sh
cargo build --release --bin ndp
OUT=results/metaworld
mkdir -p "$OUT"
for seed in $SEEDS; do
  for task in $TASKS; do
    for kind in ndp ppo ppo-multi; do
      run="$OUT/$task-$kind-s$seed"
      if [ -f "$run/done.json" ]; then continue; fi
      cfg=$(mktemp --suffix=.yaml)
      sed "s/    env_name: push-v3/    env_name: $task/" config/ppo_metaworld.yaml > "$cfg"
      # An interrupted run goes on from its last checkpoint.
      resume=()
      if [ -f "$run/latest" ]; then resume=(--resume); fi
      echo "== $task $kind seed $seed ${resume[*]}" >&2
      nice -n 10 ./target/release/ndp train-ppo --config "$cfg" --out "$run" --kind "$kind" \
        --seed "$seed" --steps "$STEPS" --json "${resume[@]}" | tail -1 > "$run.json.tmp"
      mv "$run.json.tmp" "$run/done.json"
      rm -f "$cfg" "$run"/ckpt-*/weights.safetensors.tmp
    done
  done
done
# Raw simulator speed on this machine, one and two processes.
for task in $TASKS; do
  .venv-mujoco/bin/python bridges/mujoco/raw_speed.py --env-name "$task" > "$OUT/raw-$task-1.json"
  ( .venv-mujoco/bin/python bridges/mujoco/raw_speed.py --env-name "$task" --seed 1 > "$OUT/raw-$task-2a.json" &
    .venv-mujoco/bin/python bridges/mujoco/raw_speed.py --env-name "$task" --seed 2 > "$OUT/raw-$task-2b.json"; wait )
done
./target/release/ndp plot-ppo --out "$OUT" "$OUT"/*-s*/
