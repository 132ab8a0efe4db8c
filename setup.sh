#!/usr/bin/env bash
# Set up compilecheck in ./.venv: an existing torch stands; where none is importable,
# torch==2.13.0 (a CPU build) is installed, never a bare "torch" (a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q torch==2.13.0
fi
# setuptools from the environment when it has one (no download); else pip's isolated build
if .venv/bin/python -c "import setuptools" >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q --no-build-isolation -e '.[test]' 2>&1 \
    | grep -v "^WARNING: Location" || true
else
  .venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
fi
.venv/bin/python -c "import compilecheck.probes, torch; print('compilecheck ready: torch', torch.__version__)"
