#!/usr/bin/env bash
# Run the compilecheck matrix on a CUDA GPU and keep the evidence (issue: GPU evidence).
#
#   OUT=/some/folder bash scripts/gpu_evidence.sh          # on the GPU machine
#   DEVICE=cpu OUT=/tmp/ev bash scripts/gpu_evidence.sh    # the same script, tried on CPU
#
# Installs nothing when torch is importable (it is on the GPU machines), runs the built-in
# variants at the tiny shape in every mode with CUDA graphs on and off, then gemma-300m in
# the modes that fit the time left, with TORCH_LOGS for recompiles and cudagraphs captured.
# Writes NAME.json, NAME.md, NAME.log (progress and tables) and NAME.torch.log (what torch
# logged in the workers) under $OUT, NAME = <gpu>-torch<version>-<shape>.
# Budget: BUDGET_S seconds in all (default 400), so a second attempt fits a 15-minute lease.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder for the results}
DEVICE=${DEVICE:-cuda}
BUDGET_S=${BUDGET_S:-400}
mkdir -p "$OUT"
START=$(date +%s)
PY=${PYTHON:-python3}
if ! $PY -c "import torch" 2>/dev/null; then
  $PY -m pip install -q torch==2.13.0
fi
$PY -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 \
  || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
$PY -m pip install -q click tabulate >/dev/null 2>&1 || true
TAG=$($PY - "$DEVICE" <<'PY'
import re, sys, torch
dev = sys.argv[1]
name = torch.cuda.get_device_name(0) if dev == "cuda" and torch.cuda.is_available() else "cpu"
name = re.sub(r"[^A-Za-z0-9]+", "-", name.replace("NVIDIA", "")).strip("-").lower()
print(f"{name}-torch{torch.__version__.split('+')[0]}")
PY
)
export TORCH_LOGS="recompiles,cudagraphs"
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
run() {  # run SHAPE TIMEOUT MODE...
  local shape=$1 timeout=$2; shift 2
  local name="$TAG-$shape" modes=()
  for m in "$@"; do modes+=(--mode "$m"); done
  echo "== $name: ${*} ($(left) s left)" | tee -a "$OUT/$name.log"
  timeout --kill-after=10 "$(( $(left) - 5 ))" \
    $PY -m compilecheck diagnose --device "$DEVICE" --shape "$shape" "${modes[@]}" \
      --cudagraphs both --timeout "$timeout" --jobs 4 \
      --json "$OUT/$name.json" --markdown "$OUT/$name.md" --log "$OUT/$name.torch.log" \
      >>"$OUT/$name.log" 2>&1
  echo "exit $? after $(( $(date +%s) - START )) s" | tee -a "$OUT/$name.log"
}
# 1. tiny: every variant, every mode, CUDA graphs on and off (the target mode: max-autotune)
run tiny 120 max-autotune eager default reduce-overhead max-autotune-no-cudagraphs
# 2. gemma-300m: the cheap modes first; max-autotune's tuning only if time is left
if [ "$(left)" -gt 150 ]; then
  if [ "$(left)" -gt 280 ]; then
    run gemma-300m 150 max-autotune eager default reduce-overhead max-autotune-no-cudagraphs
  else
    run gemma-300m 100 reduce-overhead eager default
  fi
fi
ls -la "$OUT"
