#!/usr/bin/env bash
# On a CUDA GPU: do the ticket's CUDA-graph repros reproduce the overwrite error there?
#
#   OUT=/some/folder bash scripts/gpu_ticket_check.sh        # on the GPU machine
#   MEASURED=0 OUT=... bash scripts/gpu_ticket_check.sh      # only the predicted repros (1.)
#
# Installs nothing when torch is importable (it is on the GPU machines). Runs:
#   1. predicted: `diagnose --device cpu` on the built-in lazy and deployed layers in
#      reduce-overhead (the loop and keep-outputs call patterns) with --ticket: the CUDA-graph
#      cells are predicted, as on a machine without CUDA, and their repro scripts target CUDA;
#      each script then runs here, on the GPU, with python alone;
#   2. measured (MEASURED=1, the default): the same on --device cuda, where the CUDA-graph
#      cells run and fail, and their scripts are of measured failures.
# Prints one line per script (its exit code and its last line) and packs both ticket folders
# into $OUT/tickets.tar.gz; $OUT/summary.txt holds the lines.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder for the results}
MEASURED=${MEASURED:-1}
PY=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/cc-ticket-XXXX)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ! $PY -c "import torch" 2>/dev/null; then
  $PY -m pip install -q torch==2.13.0
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
ARGS=(--variant lazy --variant deployed --mode reduce-overhead --call-pattern loop
      --call-pattern keep-outputs --timeout 120 --quiet)
devices=(cpu)
[ "$MEASURED" = 1 ] && devices+=(cuda)
for dev in "${devices[@]}"; do
  t0=$(date +%s)
  $PY -m compilecheck diagnose --device "$dev" "${ARGS[@]}" --ticket "$WORK/ticket-$dev" \
    --json "$WORK/report-$dev.json" > "$WORK/diagnose-$dev.log" 2>&1
  echo "diagnose --device $dev: exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"
  for script in "$WORK/ticket-$dev"/repro-*.py; do
    [ -e "$script" ] || continue
    # the script alone: torch, and the probes copied beside it; not compilecheck
    (cd "$WORK/ticket-$dev" && $PY -I "$(basename "$script")" > "$script.stdout" \
       2> "$script.stderr")
    rc=$?
    last=$(tail -n 1 "$script.stdout")
    echo "  [$dev] $(basename "$script"): exit $rc: $last" | tee -a "$OUT/summary.txt"
  done
done
tar -czf "$OUT/tickets.tar.gz" -C "$WORK" .
echo "results: $OUT/summary.txt, $OUT/tickets.tar.gz"
