#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAYON_NUM_THREADS=1
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
cargo test --no-fail-fast
