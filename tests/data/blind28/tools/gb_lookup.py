# Label helper (not used by scoring): list torch graph-break registry entries whose JSON matches a regex.
# usage: python tools/gb_lookup.py REGEX  (reads /work/main/.venv torch 2.13 registry by default, or $GB_REGISTRY)
# helper for labelling (not part of scoring): search torch's registry by words
import json, sys, re
import os
r=json.load(open(os.environ.get('GB_REGISTRY','/work/main/.venv/lib/python3.11/site-packages/torch/_dynamo/graph_break_registry.json')))
pat=re.compile(sys.argv[1], re.I)
for code,v in r.items():
    for e in v:
        s=json.dumps(e)
        if pat.search(s): print(code, '|', e['Gb_type'], '|', e['Context'][:80], '|', e['Explanation'][:200])
