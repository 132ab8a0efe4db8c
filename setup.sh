#!/usr/bin/env bash
# Set up compilecheck in ./.venv: an existing torch stands; where none is importable,
# torch==2.13.0 (a CPU build) is installed, never a bare "torch" (a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

pip_install() {  # quiet, but a failure shows pip's own words and stops the set-up
  local log
  log=$(mktemp)
  if ! .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2 || true
    rm -f "$log"
    echo "setup.sh: pip install $* failed" >&2
    exit 1
  fi
  rm -f "$log"
}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  pip_install torch==2.13.0
fi
# setuptools from the environment when it has one (no download); else pip's isolated build
if .venv/bin/python -c "import setuptools" >/dev/null 2>&1; then
  pip_install --no-build-isolation -e '.[test]'
else
  pip_install -e '.[test]'
fi
.venv/bin/compilecheck --version >/dev/null
.venv/bin/python -W ignore -c "import compilecheck.probes, torch; print('compilecheck ready: torch', torch.__version__)"
