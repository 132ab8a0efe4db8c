#!/bin/bash
# Score run of blind set 31 with a given compilecheck checkout: every probe once through the CLI
# (blindtools/score_common.sh); vq_ema_kmeans in its own venv. No policy and no fixture part.
# Usage: tools/run_score.sh CHECKOUT [LABEL]   (LABEL default: after)
# Outputs: tests/data/blind31/LABEL/<name>/{out.json,out.md,stdout.txt,stderr.txt},
#          LABEL/runs.log, LABEL/whoami.txt. ONLY="name ..." restricts a run.
set -u
CHECKOUT=$(cd "$1" && pwd)
LABEL=${2:-after}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$HERE/$LABEL
PY=${B31_PY:-/work/venv-b26/bin/python}          # torch 2.13.0 + the libraries (blind26's venv)
PY31=${B31_PY31:-/work/venv-b31/bin/python}      # torch 2.13.0 + vector-quantize-pytorch
ONLY=${ONLY:-${B31_ONLY:-}}
source "$HERE/../blindtools/score_common.sh"
whoami "$PY"
whoami "$PY31"
for p in "$HERE"/probes/*.py; do
  n=$(basename "$p" .py)
  only "$n" || continue
  if [ "$n" = vq_ema_kmeans ]; then diag "$n" "$PY31" default; else diag "$n" "$PY" default; fi
done
cd / && rm -rf "$RUNDIR"
