# Sourced by a blind set's tools/run_score.sh after it sets CHECKOUT, LABEL, HERE (the set's
# folder) and OUT: a neutral working folder (`-m compilecheck` must come from CHECKOUT), the
# run's log, which compilecheck each process imports, and `diag NAME PYTHON MODE`: one probe
# diagnosed once (CPU, loop pattern, --jobs 1, under nice, empty inductor caches).
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$OUT"
RUNDIR=$(mktemp -d /tmp/blindrun.XXXXXX)
cd "$RUNDIR"
export PYTHONPATH=$CHECKOUT
log() { echo "$*" >> "$OUT/runs.log"; }
log "# $(date -u +%FT%TZ) checkout=$CHECKOUT ($(git -C "$CHECKOUT" rev-parse --short HEAD 2>/dev/null))"
rm -f "$OUT/whoami.txt"

whoami() {  # python: which compilecheck its CLI process and workers import
  B26_WHOAMI=$OUT/whoami.txt nice "$1" -m compilecheck diagnose --device cpu \
    --probe "$TOOLS/whoami_probe.py:factory" --mode default --call-pattern loop --jobs 1 \
    --quiet > /dev/null 2>&1
  sed -i "s#$CHECKOUT#CHECKOUT#" "$OUT/whoami.txt"
}

diag() {  # name python mode
  local n=$1 py=$2 mode=$3 d=$OUT/$1
  mkdir -p "$d"
  local fr=$(mktemp -d /tmp/blindcache.XXXXXX); mkdir -p "$fr/inductor" "$fr/tmp"
  local s=$(date +%s.%N)
  TORCHINDUCTOR_CACHE_DIR=$fr/inductor TMPDIR=$fr/tmp /usr/bin/time -f "%U %S" -o "$d/time.txt" \
    nice "$py" -m compilecheck diagnose --device cpu --probe "$HERE/probes/$n.py:factory" \
    --mode "$mode" --call-pattern loop --jobs 1 --json "$d/out.json" --markdown "$d/out.md" \
    > "$d/stdout.txt" 2> "$d/stderr.txt"
  local rc=$? e=$(date +%s.%N)
  log "$n rc=$rc wall_s=$(python3 -c "print(round($e-$s,1))") cpu_s=$(python3 -c "print(round(sum(map(float,open('$d/time.txt').read().split()[-2:])),1))") load=$(cut -d' ' -f1 /proc/loadavg) mode=$mode"
  rm -f "$d/time.txt"; rm -rf "$fr"
}

only() {  # name: is it in the run's restriction (ONLY="name ..."), or is there none?
  [ -z "${ONLY:-}" ] || echo " $ONLY " | grep -q " $1 "
}
