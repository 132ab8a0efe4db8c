#!/bin/bash
# Score run: each probe once through the frozen tool (/work/cc-before), default mode, loop pattern, CPU.
cd /work/cc-before
for n in "$@"; do
  d=/work/blind21/before/$n; mkdir -p $d
  s=$(date +%s)
  nice /work/main/.venv/bin/python -m compilecheck diagnose --device cpu --probe /work/blind21/probes/$n.py:factory \
    --mode default --call-pattern loop --jobs 1 --json $d/out.json --markdown $d/out.md > $d/stdout.txt 2> $d/stderr.txt
  echo "$n rc=$? $(( $(date +%s) - s ))s" >> /work/blind21/before/runs.log
done
