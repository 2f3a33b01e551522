#!/usr/bin/env bash
# The digit-writing comparison (the paper's Table 2): NDP, CNN and CNN-DMP trained the same way
# (config/digits_ndp.yaml: 10,000 / 2,000, 70 epochs, Adam 1e-3, batch 64), and the CNN without
# the start point as input (config/digits_cnn_origin.yaml), each evaluated on
# train and held-out data. Writes runs/table_<model>/ and results/digits_table.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
ndp=./target/release/ndp
[ -f data/digits/meta.yaml ] || $ndp digits generate --out data/digits --train 10000 --test 2000 --seed 0
mkdir -p results
: > results/digits_table.jsonl
# cnn-origin: the cnn baseline without the start point as input (config/digits_cnn_origin.yaml).
for model in ${MODELS:-ndp cnn cnn-dmp cnn-origin}; do
  start=$EPOCHREALTIME
  if [ "$model" = cnn-origin ]; then
    $ndp train-bc --config config/digits_cnn_origin.yaml --out "runs/table_$model" --json > /dev/null
  else
    $ndp train-bc --config config/digits_ndp.yaml --model "$model" --out "runs/table_$model" --json > /dev/null
  fi
  end=$EPOCHREALTIME
  $ndp eval --run "runs/table_$model" --json | tail -n 1 \
    | python3 -c "import json,sys; d=json.load(sys.stdin); d['model']='$model'; d['train_wall_s']=round($end-$start,1); print(json.dumps(d))" \
    | tee -a results/digits_table.jsonl
done
