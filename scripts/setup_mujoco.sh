#!/usr/bin/env bash
# Installs the MuJoCo bridge's Python stack (Meta-World 3.1.1, MuJoCo 3.3.0, gymnasium 1.4.0)
# into .venv-mujoco. Only the Meta-World runs need it; the tests do not.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv-mujoco/bin/python -c "import metaworld, mujoco, gymnasium, cyclonedds, dm_control" >/dev/null 2>&1; then
  python3 -m venv .venv-mujoco
  .venv-mujoco/bin/pip install -q --disable-pip-version-check -r bridges/mujoco/requirements.txt
fi
.venv-mujoco/bin/python -c "import mujoco, metaworld; print('mujoco', mujoco.__version__)"
