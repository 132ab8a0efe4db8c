#!/bin/bash
# Score run of blind set 32 with a given compilecheck checkout: every probe once through the CLI
# (blindtools/score_common.sh), in /work/venv-b32. No policy and no fixture part.
# Usage: tools/run_score.sh CHECKOUT [LABEL]   (LABEL default: after)
# Outputs: tests/data/blind32/LABEL/<name>/{out.json,out.md,stdout.txt,stderr.txt},
#          LABEL/runs.log, LABEL/whoami.txt. ONLY="name ..." restricts a run; B32_PY the python.
set -u
CHECKOUT=$(cd "$1" && pwd)
LABEL=${2:-after}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$HERE/$LABEL
PY=${B32_PY:-/work/venv-b32/bin/python}          # torch 2.13.0+cpu + the libraries (see README)
ONLY=${ONLY:-${B32_ONLY:-}}
source "$HERE/../blindtools/score_common.sh"
whoami "$PY"
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  only "$n" && diag "$n" "$PY" default
done
cd / && rm -rf "$RUNDIR"
