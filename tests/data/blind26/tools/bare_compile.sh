#!/bin/bash
# One bare compile of the policy probe as its owners compile it, in a fresh process with an empty
# inductor cache and TMPDIR (CPU time of the process and its children too: the machine is shared). Usage: tools/bare_compile.sh PYTHON [PROBE] [MODE]; prints wall time + JSON.
set -u
PY=${1:-/work/venv-b26tv/bin/python}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PROBE=${2:-$HERE/probes/lerobot_dp.py}
MODE=${3:-reduce-overhead}
FRESH=$(mktemp -d /tmp/b26bare.XXXXXX)
mkdir -p "$FRESH/inductor" "$FRESH/tmp"
s=$(date +%s.%N)
TORCHINDUCTOR_CACHE_DIR=$FRESH/inductor TMPDIR=$FRESH/tmp /usr/bin/time -f "cpu_user_s=%U cpu_sys_s=%S" -o "$FRESH/time.txt" \
  nice "$PY" -W ignore "$HERE/tools/bare_compile.py" "$PROBE" "$MODE" 2>/dev/null | tail -1
e=$(date +%s.%N)
echo "process_wall_s=$(python3 -c "print(round($e-$s,2))") $(cat "$FRESH/time.txt") load=$(cut -d' ' -f1 /proc/loadavg)"
rm -rf "$FRESH"
