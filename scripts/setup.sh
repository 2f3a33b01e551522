#!/usr/bin/env bash
# One-time set-up of a fresh machine of this kind (Debian 12, Rust toolchain present).
# Idempotent; installs only what is missing. Needs root (or sudo) only for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# A TrueType font for plot text (plots are still drawn without one).
if ! ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >/dev/null 2>&1; then
  (as_root apt-get update -qq && as_root apt-get install -y -qq fonts-dejavu-core) \
    || echo "setup: could not install fonts-dejavu-core; plots will have no text" >&2
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }

# Python test peers and the journey's plots (Cyclone DDS, rosbags, matplotlib from PyPI, wheels only: no C toolchain or CMake needed).
if ! .venv/bin/python -c "import cyclonedds, rosbags, mcap, lz4, zstandard, matplotlib" >/dev/null 2>&1; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --only-binary=:all: -r requirements-test.txt
fi
