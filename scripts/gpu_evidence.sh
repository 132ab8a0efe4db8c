#!/usr/bin/env bash
# Run compilecheck on a CUDA GPU and keep the evidence (tests/data/gpu/ holds what came back).
#
#   OUT=/some/folder bash scripts/gpu_evidence.sh          # on the GPU machine
#   DEVICE=cpu OUT=/tmp/ev bash scripts/gpu_evidence.sh    # the same script, tried on CPU
#
# Installs nothing when torch is importable (it is on the GPU machines). Runs, within BUDGET_S
# seconds in all (default 300, so that it fits one call of a short lease):
#   1. tiny: every built-in variant (deployed included), every mode, CUDA graphs on and off,
#      the ladder's rungs and the call patterns (keep-outputs, grad, threads), target
#      max-autotune;
#   2. state: users' modules that write their own state (tests/fixtures/state_probes.py), in
#      reduce-overhead with CUDA graphs, the first one (a calibration window) with its ladder;
#   3. gemma-300m (51x1024x4096): reduce-overhead, default and eager, the cheap modes, for
#      timings with CUDA events at a real shape.
# Each run writes NAME.json, NAME.md, NAME.log (progress and tables) and NAME.torch.log (what
# torch logged in the workers), NAME = <gpu>-torch<version>-<run>, in $RUNS; all of them are
# packed into $OUT/evidence.tar.gz beside the JSON reports (the device tool brings back at most
# 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder for the results}
DEVICE=${DEVICE:-cuda}
BUDGET_S=${BUDGET_S:-300}
RUNS=${RUNS:-$(mktemp -d /tmp/cc-evidence-XXXX)}
mkdir -p "$OUT" "$RUNS"
START=$(date +%s)
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
if ! $PY -c "import torch" 2>/dev/null; then
  $PY -m pip install -q torch==2.13.0
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
TAG=$($PY - "$DEVICE" <<'PY'
import re, sys, torch
dev = sys.argv[1]
name = torch.cuda.get_device_name(0) if dev == "cuda" and torch.cuda.is_available() else "cpu"
name = re.sub(r"[^A-Za-z0-9]+", "-", name.replace("NVIDIA", "")).strip("-").lower()
print(f"{name}-torch{torch.__version__.split('+')[0]}")
PY
)
(nvidia-smi -L; $PY -c "import torch; print(torch.__version__)") > "$RUNS/gpu.txt" 2>&1
export TORCH_LOGS="recompiles,cudagraphs"
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
run() {  # run NAME TIMEOUT ARGS...
  local name="$TAG-$1" timeout=$2; shift 2
  echo "== $name: $* ($(left) s left)" | tee -a "$RUNS/$name.log"
  timeout --kill-after=10 "$(( $(left) - 5 ))" \
    $PY -m compilecheck diagnose --device "$DEVICE" --timeout "$timeout" --jobs 4 "$@" \
      --json "$RUNS/$name.json" --markdown "$RUNS/$name.md" \
      --log "$RUNS/$name.torch.log" >>"$RUNS/$name.log" 2>&1
  echo "exit $? after $(( $(date +%s) - START )) s" | tee -a "$RUNS/$name.log"
}
# 1. tiny: everything (the target mode max-autotune first)
run tiny 90 --shape tiny --mode max-autotune --mode eager --mode default \
  --mode reduce-overhead --mode max-autotune-no-cudagraphs
# 2. users' modules that write their own state
S=tests/fixtures/state_probes.py
[ "$(left)" -gt 60 ] && run state 60 --mode reduce-overhead --cudagraphs both \
  --call-pattern loop --probe $S:window_calibrated --probe $S:lazy_attr \
  --probe $S:inplace_buffer --probe $S:cache_dict --probe $S:running_stats \
  --probe $S:growing_cache --probe $S:lazy_linear
# 3. gemma-300m: the cheap modes, timings at a real shape
[ "$(left)" -gt 90 ] && run gemma-300m 80 --shape gemma-300m --mode reduce-overhead \
  --mode eager --mode default --variant deployed --variant calibrated --variant weight-only
tar -czf "$OUT/evidence.tar.gz" -C "$RUNS" .
cp "$RUNS"/*.json "$OUT/" 2>/dev/null
ls -la "$OUT" "$RUNS"
