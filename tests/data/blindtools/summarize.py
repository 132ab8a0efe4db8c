"""Compact view of a compilecheck report JSON for hand scoring (reads only the report).
Usage: python tools/summarize.py before/<name>/out.json"""
import json
import sys


def main(path):
    r = json.load(open(path))
    print("recommendation:", (r.get("recommendation") or {}).get("summary"))
    for c in r.get("cells", []):
        err = (c.get("error") or "").replace("\n", " ")[:160]
        print(f"cell {c.get('variant')}/{c.get('mode')}/{c.get('cudagraphs')}: {c.get('status')} graphs={c.get('graphs')} "
              f"breaks={c.get('graph_breaks')} recompiles={c.get('recompiles')} err={c.get('max_abs_err')} "
              f"skips={c.get('cudagraph_skips')} {err}")
        for f in c.get("findings", []):
            print(f"   - {f.get('class')}: {str(f.get('detail'))[:260]} @ {f.get('where')}")
    for v, sw in (r.get("state_writes") or {}).items():
        print(f"state_writes[{v}]: calls={sw.get('calls')} warmup={sw.get('warmup')} stopped={sw.get('stopped')} error={sw.get('error')}")
        for w in sw.get("writes", []):
            extra = {k: w[k] for k in w if k not in ("path", "kind", "calls", "where", "tensor", "owner", "attribute", "instances")}
            print(f"   * {w.get('path')} kind={w.get('kind')} calls={w.get('calls')} where={w.get('where')} {extra if extra else ''}"[:400])
    for l in r.get("ladder", []):
        print(f"ladder {l.get('rung')} {l.get('name')}: {l.get('status')} {str(l.get('why'))[:200]}")


if __name__ == "__main__":
    main(sys.argv[1])
