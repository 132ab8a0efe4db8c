#!/bin/bash
# Runs the independent checks for every probe (or those named), one at a time under nice:
# dynamo_check eager and inductor backends (6 calls), and the eager backend again under TORCH_LOGS=recompiles.
# Writes checks/dynamo_{eager,inductor}_<name>.txt and checks/recompiles_<name>.txt.
cd "$(dirname "$0")/.."
PY=${B32_PY:-/work/venv-b32/bin/python}
names=${*:-$(ls probes | sed 's/\.py$//')}
for n in $names; do
  nice $PY $TOOLS/dynamo_check.py probes/$n.py eager 6 > checks/dynamo_eager_$n.txt 2> checks/.stderr_eager_$n
  TORCH_LOGS=recompiles nice $PY $TOOLS/dynamo_check.py probes/$n.py eager 6 2>&1 | grep "__recompiles" > checks/recompiles_$n.txt
  nice $PY $TOOLS/dynamo_check.py probes/$n.py inductor 6 > checks/dynamo_inductor_$n.txt 2> checks/.stderr_inductor_$n
  echo "$n done $(date +%T)"
done
