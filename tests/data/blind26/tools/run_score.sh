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
ONLY=${ONLY:-${B26_ONLY:-}}
source "$HERE/../blindtools/score_common.sh"
whoami "$PY"

# 1. the 16 library modules (torch 2.13.0)
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  [ "$n" = lerobot_dp ] && continue
  only "$n" && diag "$n" "$PY" default
done

# 2. the policy, as its owners compile it, between two bare compiles (fresh process, empty caches)
if only lerobot_dp; then
  "$HERE/tools/bare_compile.sh" "$PYTV" > "$OUT/bare_1.txt" 2>&1
  diag lerobot_dp "$PYTV" reduce-overhead
  "$HERE/tools/bare_compile.sh" "$PYTV" > "$OUT/bare_2.txt" 2>&1
fi

# 3. the pytest fixture
if only fixture; then
  s=$(date +%s)
  nice "$PY" -m pytest -p compilecheck.pytest_plugin -p no:cacheprovider --compilecheck-device cpu \
    --confcutdir "$HERE" --rootdir "$HERE" -q -rA "$HERE/fixture_cases.py" > "$OUT/fixture.txt" 2>&1
  log "fixture rc=$? wall_s=$(( $(date +%s) - s ))"
fi
cd / && rm -rf "$RUNDIR"
