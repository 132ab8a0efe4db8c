#!/bin/bash
# Score run of blind set 32 with a given compilecheck checkout: every probe once through the CLI
# (CPU, loop pattern, --jobs 1, under nice, empty inductor caches). No policy and no fixture part.
# Copied from tests/data/blind32/tools/run_score.sh (adapted from blind26's): one venv (/work/venv-b32).
# Usage: tools/run_score.sh CHECKOUT [LABEL]   (LABEL default: before for /work/cc-before, else after)
# Outputs: tests/data/blind32/LABEL/<name>/{out.json,out.md,stdout.txt,stderr.txt}, LABEL/runs.log,
#          LABEL/whoami.txt
# B32_ONLY="name ..." restricts a run; B32_PY overrides the python.
set -u
CHECKOUT=$(cd "$1" && pwd)
LABEL=${2:-$([ "$CHECKOUT" = /work/cc-before ] && echo before || echo after)}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${B32_PY:-/work/venv-b32/bin/python}          # torch 2.13.0+cpu + the libraries (see README)
OUT=$HERE/$LABEL
mkdir -p "$OUT"
RUNDIR=$(mktemp -d /tmp/b32run.XXXXXX)            # neutral cwd: `-m compilecheck` must come from CHECKOUT
cd "$RUNDIR"
export PYTHONPATH=$CHECKOUT
log() { echo "$*" >> "$OUT/runs.log"; }
log "# $(date -u +%FT%TZ) checkout=$CHECKOUT ($(git -C "$CHECKOUT" rev-parse --short HEAD 2>/dev/null))"

# 0. which compilecheck do the CLI process and its workers import?
rm -f "$OUT/whoami.txt"
B26_WHOAMI=$OUT/whoami.txt nice "$PY" -m compilecheck diagnose --device cpu --probe "$HERE/tools/whoami_probe.py:factory" \
  --mode default --call-pattern loop --jobs 1 --quiet > /dev/null 2>&1
sed -i "s#$CHECKOUT#CHECKOUT#" "$OUT/whoami.txt"

diag() {  # name python mode
  local n=$1 py=$2 mode=$3 d=$OUT/$1
  mkdir -p "$d"
  local fr=$(mktemp -d /tmp/b32cache.XXXXXX); mkdir -p "$fr/inductor" "$fr/tmp"   # empty caches
  local s=$(date +%s.%N)
  TORCHINDUCTOR_CACHE_DIR=$fr/inductor TMPDIR=$fr/tmp /usr/bin/time -f "%U %S" -o "$d/time.txt" nice "$py" -m compilecheck diagnose --device cpu --probe "$HERE/probes/$n.py:factory" \
    --mode "$mode" --call-pattern loop --jobs 1 --json "$d/out.json" --markdown "$d/out.md" \
    > "$d/stdout.txt" 2> "$d/stderr.txt"
  local rc=$? e=$(date +%s.%N)
  log "$n rc=$rc wall_s=$(python3 -c "print(round($e-$s,1))") cpu_s=$(python3 -c "print(round(sum(map(float,open('$d/time.txt').read().split()[-2:])),1))") load=$(cut -d' ' -f1 /proc/loadavg) mode=$mode"
  rm -f "$d/time.txt"; rm -rf "$fr"
}

# 1. the 10 library modules (torch 2.13.0)
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  [ -n "${B32_ONLY:-}" ] && ! echo " $B32_ONLY " | grep -q " $n " && continue
  diag "$n" "$PY" default
done
cd / && rm -rf "$RUNDIR"
