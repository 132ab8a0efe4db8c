#!/bin/bash
# Score run of blind set 26 with a given compilecheck checkout: every probe once through the CLI
# (CPU, loop pattern, --jobs 1, under nice), the policy in its owners' mode, the bare compile of the
# policy before and after its diagnosis, and the pytest-fixture cases.
# Usage: tools/run_score.sh CHECKOUT [LABEL]   (LABEL default: before for /work/cc-before, else after)
# Outputs: tests/data/blind26/LABEL/<name>/{out.json,out.md,stdout.txt,stderr.txt}, LABEL/runs.log,
#          LABEL/whoami.txt, LABEL/bare_*.txt, LABEL/fixture.txt
set -u
CHECKOUT=$(cd "$1" && pwd)
LABEL=${2:-$([ "$CHECKOUT" = /work/cc-before ] && echo before || echo after)}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${B26_PY:-/work/venv-b26/bin/python}          # torch 2.13.0 + the libraries
PYTV=${B26_PYTV:-/work/venv-b26tv/bin/python}    # torch 2.14.1 + torchvision + lerobot (policy)
OUT=$HERE/$LABEL
mkdir -p "$OUT"
RUNDIR=$(mktemp -d /tmp/b26run.XXXXXX)            # neutral cwd: `-m compilecheck` must come from CHECKOUT
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
  local fr=$(mktemp -d /tmp/b26cache.XXXXXX); mkdir -p "$fr/inductor" "$fr/tmp"   # empty caches, as the bare compile
  local s=$(date +%s.%N)
  TORCHINDUCTOR_CACHE_DIR=$fr/inductor TMPDIR=$fr/tmp /usr/bin/time -f "%U %S" -o "$d/time.txt" nice "$py" -m compilecheck diagnose --device cpu --probe "$HERE/probes/$n.py:factory" \
    --mode "$mode" --call-pattern loop --jobs 1 --json "$d/out.json" --markdown "$d/out.md" \
    > "$d/stdout.txt" 2> "$d/stderr.txt"
  local rc=$? e=$(date +%s.%N)
  log "$n rc=$rc wall_s=$(python3 -c "print(round($e-$s,1))") cpu_s=$(python3 -c "print(round(sum(map(float,open('$d/time.txt').read().split()[-2:])),1))") load=$(cut -d' ' -f1 /proc/loadavg) mode=$mode"
  rm -f "$d/time.txt"; rm -rf "$fr"
}

# 1. the 16 library modules (torch 2.13.0)
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  [ "$n" = lerobot_dp ] && continue
  [ -n "${B26_ONLY:-}" ] && ! echo " $B26_ONLY " | grep -q " $n " && continue
  diag "$n" "$PY" default
done

# 2. the policy, as its owners compile it, between two bare compiles (fresh process, empty caches)
if [ -z "${B26_ONLY:-}" ] || echo " $B26_ONLY " | grep -q " lerobot_dp "; then
  "$HERE/tools/bare_compile.sh" "$PYTV" > "$OUT/bare_1.txt" 2>&1
  diag lerobot_dp "$PYTV" reduce-overhead
  "$HERE/tools/bare_compile.sh" "$PYTV" > "$OUT/bare_2.txt" 2>&1
fi

# 3. the pytest fixture
if [ -z "${B26_ONLY:-}" ] || echo " $B26_ONLY " | grep -q " fixture "; then
  s=$(date +%s)
  nice "$PY" -m pytest -p compilecheck.pytest_plugin -p no:cacheprovider --compilecheck-device cpu \
    --confcutdir "$HERE" --rootdir "$HERE" -q -rA "$HERE/fixture_cases.py" > "$OUT/fixture.txt" 2>&1
  log "fixture rc=$? wall_s=$(( $(date +%s) - s ))"
fi
cd / && rm -rf "$RUNDIR"
