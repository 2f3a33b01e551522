#!/usr/bin/env bash
# Side by side with PyTorch on this machine, in one run: the digit NDP train step at batch 64,
# batch-1 inference and the DMP layer forward+backward, ours (im2col path, 1 and 2 op threads;
# and candle's own conv for reference) and PyTorch's (1 and 2 threads). One JSON line on stdout,
# also written to results/bench_torch.json. PyTorch (pinned) goes into .venv-torch; PyPI only
# has the CUDA build, so this downloads about 3 GB the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=${TORCH_VERSION:-2.15.0}
if ! .venv-torch/bin/python -c "import torch" >/dev/null 2>&1; then
  python3 -m venv .venv-torch
  .venv-torch/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
fi
cargo build --release -q
ndp=./target/release/ndp
ours() { "$ndp" bench "$@" --json | tail -n 1; }
im1=$(ours train-step --conv im2col --threads 1)
im2=$(ours train-step --conv im2col --threads 2)
cnd=$(ours train-step --conv candle --iters 20)
dmp=$(ours dmp)
torch=$(.venv-torch/bin/python benches/torch_digit.py)
mkdir -p results
python3 - "$im1" "$im2" "$cnd" "$dmp" "$torch" <<'PY' | tee results/bench_torch.json
import json, sys
im1, im2, cnd, dmp, torch = (json.loads(a) for a in sys.argv[1:])
best_ours = min(im1["train_step_ms_median"], im2["train_step_ms_median"])
best_torch = min(torch["threads_1"]["train_step_ms_median"], torch["threads_2"]["train_step_ms_median"])
print(json.dumps({
    "ours": {"im2col_1_thread": im1, "im2col_2_threads": im2, "candle_conv": cnd, "dmp": dmp},
    "torch": torch,
    "train_step_ratio_torch_over_ours": best_torch / best_ours,
    "infer_p50_ratio_torch_over_ours": min(torch["threads_1"]["infer_p50_ms"], torch["threads_2"]["infer_p50_ms"]) / min(im1["infer_p50_ms"], im2["infer_p50_ms"]),
    "dmp_ratio_torch_over_ours": min(torch["threads_1"]["dmp_fwd_bwd_ms_median"], torch["threads_2"]["dmp_fwd_bwd_ms_median"]) / dmp["fwd_bwd_ms_median"],
}))
PY
