#!/usr/bin/env bash
# Side by side with PyTorch on this machine, in one run: the digit NDP train step at batch 64,
# batch-1 inference and the DMP layer forward+backward, ours (1 and 2 op threads; candle's own
# conv once for reference) and PyTorch's (1 and 2 threads), in ROUNDS interleaved rounds: this
# VM's speed drifts by +-25 % over minutes, so each round compares runs made moments apart and
# the summary takes the median of the rounds. Writes results/bench_torch.json (every round and
# the medians) and results/bench_torch_rounds.md (the table), and appends the run's summary to
# results/bench_torch_history.jsonl (runs of the same code pool into one median there); the
# JSON is also printed.
# PyTorch (pinned) goes into .venv-torch; PyPI only has the CUDA build, so this downloads about
# 3 GB the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=${TORCH_VERSION:-2.15.0}
ROUNDS=${ROUNDS:-4}
if ! .venv-torch/bin/python -c "import torch" >/dev/null 2>&1; then
  python3 -m venv .venv-torch
  .venv-torch/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
fi
cargo build --release -q
ndp=./target/release/ndp
ours() { "$ndp" bench "$@" --json | tail -n 1; }
mkdir -p results
rounds=$(mktemp)
for r in $(seq "$ROUNDS"); do
  echo "round $r of $ROUNDS" >&2
  printf '{"im1": %s, "im2": %s, "dmp": %s, "torch": %s}\n' \
    "$(ours train-step --threads 1)" "$(ours train-step --threads 2)" "$(ours dmp)" \
    "$(.venv-torch/bin/python benches/torch_digit.py)" >> "$rounds"
done
cnd=$(ours train-step --conv candle --iters 20 --threads 1)
python3 - "$rounds" "$cnd" "$(date -u +%F)" <<'PY'
import json, statistics, sys
rounds = [json.loads(l) for l in open(sys.argv[1])]
cnd, day = json.loads(sys.argv[2]), sys.argv[3]
med = lambda xs: statistics.median(xs)
col = {
    "ours_1_thread": [r["im1"]["train_step_ms_median"] for r in rounds],
    "ours_2_threads": [r["im2"]["train_step_ms_median"] for r in rounds],
    "torch_1_thread": [r["torch"]["threads_1"]["train_step_ms_median"] for r in rounds],
    "torch_2_threads": [r["torch"]["threads_2"]["train_step_ms_median"] for r in rounds],
}
ratio = [min(r["torch"]["threads_1"]["train_step_ms_median"], r["torch"]["threads_2"]["train_step_ms_median"])
         / min(r["im1"]["train_step_ms_median"], r["im2"]["train_step_ms_median"]) for r in rounds]
infer = [min(r["im1"]["infer_p50_ms"], r["im2"]["infer_p50_ms"]) for r in rounds]
tinfer = [min(r["torch"]["threads_1"]["infer_p50_ms"], r["torch"]["threads_2"]["infer_p50_ms"]) for r in rounds]
dmp = [r["dmp"]["fwd_bwd_ms_median"] for r in rounds]
tdmp = [min(r["torch"]["threads_1"]["dmp_fwd_bwd_ms_median"], r["torch"]["threads_2"]["dmp_fwd_bwd_ms_median"]) for r in rounds]
summary = {
    "rounds": len(rounds),
    "train_step_ms_median_of_rounds": {k: med(v) for k, v in col.items()},
    "train_step_ratio_torch_over_ours_median": med(ratio),
    "train_step_ratio_torch_over_ours_per_round": ratio,
    "infer_p50_ms_median_of_rounds": {"ours": med(infer), "torch": med(tinfer)},
    "dmp_fwd_bwd_ms_median_of_rounds": {"ours": med(dmp), "torch": med(tdmp), "unrolled": med([r["dmp"]["unrolled_fwd_bwd_ms_median"] for r in rounds])},
    "candle_conv_train_step_ms": cnd["train_step_ms_median"],
    "torch_version": rounds[0]["torch"]["torch_version"],
}
json.dump({"summary": summary, "per_round": rounds, "candle_conv": cnd}, open("results/bench_torch.json", "w"))
commit = __import__("subprocess").run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
with open("results/bench_torch_history.jsonl", "a") as h:
    h.write(json.dumps({"date": day, "commit": commit, **{k: v for k, v in col.items()}, "ratio": ratio}) + "\n")
with open("results/bench_torch_rounds.md", "w") as f:
    f.write(f"# Digit train step at batch 64, ours against PyTorch {summary['torch_version']}, same machine, {day}\n\n")
    f.write("`bash scripts/bench_torch.sh`: each round runs `ndp bench train-step --threads 1`, `--threads 2`,\n"
            "`ndp bench dmp`, then `benches/torch_digit.py` (torch.set_num_threads 1, then 2). Medians in ms.\n\n")
    f.write("| round | ours, 1 thread | ours, 2 threads | PyTorch, 1 thread | PyTorch, 2 threads | PyTorch best / ours best |\n|---|---|---|---|---|---|\n")
    for i, r in enumerate(rounds):
        f.write(f"| {i + 1} | {col['ours_1_thread'][i]:.1f} | {col['ours_2_threads'][i]:.1f} | {col['torch_1_thread'][i]:.1f} | {col['torch_2_threads'][i]:.1f} | {ratio[i]:.2f} |\n")
    m = summary["train_step_ms_median_of_rounds"]
    f.write(f"| median | {m['ours_1_thread']:.1f} | {m['ours_2_threads']:.1f} | {m['torch_1_thread']:.1f} | {m['torch_2_threads']:.1f} | {med(ratio):.2f} |\n\n")
    f.write(f"Inference, batch 1, p50 (median of rounds): ours {med(infer):.3f} ms, PyTorch {med(tinfer):.3f} ms.\n"
            f"DMP layer fwd+bwd: ours {med(dmp):.3f} ms, PyTorch {med(tdmp):.3f} ms. candle's own conv: {cnd['train_step_ms_median']:.0f} ms per step.\n")
print(json.dumps(summary))
PY
rm -f "$rounds"
