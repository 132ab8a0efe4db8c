#!/bin/bash
# Score run of blind set 31 with a given compilecheck checkout: every probe once through the CLI
# (CPU, loop pattern, --jobs 1, under nice, empty inductor caches). No policy and no fixture part.
# Adapted from tests/data/blind26/tools/run_score.sh.
# Usage: tools/run_score.sh CHECKOUT [LABEL]   (LABEL default: before for /work/cc-before, else after)
# Outputs: tests/data/blind31/LABEL/<name>/{out.json,out.md,stdout.txt,stderr.txt}, LABEL/runs.log,
#          LABEL/whoami.txt
# B31_ONLY="name ..." restricts a run.
set -u
CHECKOUT=$(cd "$1" && pwd)
LABEL=${2:-$([ "$CHECKOUT" = /work/cc-before ] && echo before || echo after)}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${B31_PY:-/work/venv-b26/bin/python}          # torch 2.13.0 + the libraries (blind26's venv)
PY31=${B31_PY31:-/work/venv-b31/bin/python}      # torch 2.13.0 + vector-quantize-pytorch (vq_ema_kmeans)
OUT=$HERE/$LABEL
mkdir -p "$OUT"
RUNDIR=$(mktemp -d /tmp/b31run.XXXXXX)            # neutral cwd: `-m compilecheck` must come from CHECKOUT
cd "$RUNDIR"
export PYTHONPATH=$CHECKOUT
log() { echo "$*" >> "$OUT/runs.log"; }
log "# $(date -u +%FT%TZ) checkout=$CHECKOUT ($(git -C "$CHECKOUT" rev-parse --short HEAD 2>/dev/null))"

# 0. which compilecheck do the CLI process and its workers import? (both venvs)
rm -f "$OUT/whoami.txt"
for py in "$PY" "$PY31"; do
  B26_WHOAMI=$OUT/whoami.txt nice "$py" -m compilecheck diagnose --device cpu --probe "$HERE/tools/whoami_probe.py:factory" \
    --mode default --call-pattern loop --jobs 1 --quiet > /dev/null 2>&1
done
sed -i "s#$CHECKOUT#CHECKOUT#" "$OUT/whoami.txt"

diag() {  # name python mode
  local n=$1 py=$2 mode=$3 d=$OUT/$1
  mkdir -p "$d"
  local fr=$(mktemp -d /tmp/b31cache.XXXXXX); mkdir -p "$fr/inductor" "$fr/tmp"   # empty caches
  local s=$(date +%s.%N)
  TORCHINDUCTOR_CACHE_DIR=$fr/inductor TMPDIR=$fr/tmp /usr/bin/time -f "%U %S" -o "$d/time.txt" nice "$py" -m compilecheck diagnose --device cpu --probe "$HERE/probes/$n.py:factory" \
    --mode "$mode" --call-pattern loop --jobs 1 --json "$d/out.json" --markdown "$d/out.md" \
    > "$d/stdout.txt" 2> "$d/stderr.txt"
  local rc=$? e=$(date +%s.%N)
  log "$n rc=$rc wall_s=$(python3 -c "print(round($e-$s,1))") cpu_s=$(python3 -c "print(round(sum(map(float,open('$d/time.txt').read().split()[-2:])),1))") load=$(cut -d' ' -f1 /proc/loadavg) mode=$mode"
  rm -f "$d/time.txt"; rm -rf "$fr"
}

# 1. the 12 library modules (torch 2.13.0); vq_ema_kmeans in its own venv
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  [ -n "${B31_ONLY:-}" ] && ! echo " $B31_ONLY " | grep -q " $n " && continue
  if [ "$n" = vq_ema_kmeans ]; then diag "$n" "$PY31" default; else diag "$n" "$PY" default; fi
done
cd / && rm -rf "$RUNDIR"
