#!/usr/bin/env bash
# The GPU checks of this release, in one call of a short lease (about 6 minutes; LIMIT_S
# seconds each part, default 330):
#
#   OUT=/some/folder bash scripts/gpu_release_check.sh      # on the GPU machine
#
# In parallel, each with its own time limit:
#   1. tickets: scripts/gpu_ticket_check.sh (the CUDA-graph repro scripts, predicted on CPU and
#      measured on CUDA, each run with python alone: do they reproduce the overwrite error?);
#   2. explain's GPU logs (GPULOGS=1): tests/data/logs/make_gpu_logs.py (real torch runs of
#      failures a CPU cannot make; their logs of this release are in tests/data/logs already);
#   3. the patterns third-party code uses (tests/fixtures/unseen_code.py) in reduce-overhead
#      with CUDA graphs, measured: do the CPU predictions hold?
#   4. the built-in tiny policy on the GPU (sized, with progress), target reduce-overhead.
# Brings back at most 8 files under $OUT (the device tool's limit).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder for the results}
PY=${PYTHON:-python3}
W=$(mktemp -d /tmp/cc-release-XXXX)
L=${LIMIT_S:-330}
mkdir -p "$OUT" "$W/unseen" "$W/policy" "$W/gpulogs"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
(nvidia-smi -L; $PY -c "import torch, sys; print(torch.__version__, sys.version)") \
  > "$OUT/machine.txt" 2>&1

( OUT="$W/ticket" timeout "$L" bash scripts/gpu_ticket_check.sh > "$W/ticket.log" 2>&1
  cp "$W/ticket/summary.txt" "$OUT/ticket_summary.txt" 2>/dev/null
  cp "$W/ticket/tickets.tar.gz" "$OUT/tickets.tar.gz" 2>/dev/null ) &

[ "${GPULOGS:-0}" = 1 ] && ( timeout "$L" $PY tests/data/logs/make_gpu_logs.py "$W/gpulogs" \
    > "$W/gpulogs/make.out" 2>&1; tar -czf "$OUT/gpulogs.tar.gz" -C "$W" gpulogs ) &

F=tests/fixtures/unseen_code.py
probes=()
for n in configured_block rank_change siblings observer kmeans_codebook hooked recurrent \
         created_then_updated memory_module static_cache returns_cached; do
  probes+=(--probe "$F:$n")
done
( timeout "$L" $PY -m compilecheck diagnose --device cuda --mode reduce-overhead \
    --call-pattern loop --jobs 4 --timeout 200 "${probes[@]}" \
    --json "$W/unseen/unseen-cuda.json" --markdown "$W/unseen/unseen-cuda.md" \
    > "$W/unseen/unseen-cuda.log" 2>&1
  echo "exit $?" >> "$W/unseen/unseen-cuda.log"
  tar -czf "$OUT/unseen.tar.gz" -C "$W" unseen ) &

( timeout "$L" $PY -m compilecheck diagnose --device cuda --policy tiny --jobs 4 \
    --json "$W/policy/policy-tiny-cuda.json" --markdown "$W/policy/policy-tiny-cuda.md" \
    > "$W/policy/policy-tiny-cuda.log" 2>&1
  echo "exit $?" >> "$W/policy/policy-tiny-cuda.log"
  tar -czf "$OUT/policy.tar.gz" -C "$W" policy ) &

wait
ls -la "$OUT"
