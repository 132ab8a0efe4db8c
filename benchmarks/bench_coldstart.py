"""The cold-start rows on the built-in policy, as a user gets them:
`compilecheck diagnose --device DEVICE --policy SIZE --cold-start --calls N --json FILE` (the
cells first: the target cell's compile profile names the repeated region that the regional
rows compile), then each row's figures and the recommendation from the report.

    python benchmarks/bench_coldstart.py [--policy tiny --policy tiny-2x] [--calls 500]
                                         [--json rows.json]

Not a test: figures only (docs/performance.md keeps them). Run it alone on the machine: each
row is a whole cold compile, and other compiles on the same cores stretch every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from compilecheck.report.render import COLD_HEAD, cold_rows  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", action="append", default=None)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    from tabulate import tabulate

    out = {}
    for size in a.policy or ["tiny", "tiny-2x"]:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.json")
            env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=os.path.join(tmp, "inductor"),
                       TMPDIR=tmp)
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "compilecheck", "diagnose", "--device",
                                a.device, "--policy", size, "--cold-start", "--calls",
                                str(a.calls), "--timeout", str(a.timeout), "--json", path,
                                "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if not os.path.exists(path):
                sys.exit(f"--policy {size}: diagnose wrote no report (exit {p.returncode}): "
                         f"{p.stderr[-1500:]}")
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        rows, rec = report["cold_start"] or [], report["cold_start_recommendation"] or {}
        print(f"\n--policy {size} ({report['target_mode']}, {a.device}, {a.calls} calls; "
              f"the whole diagnosis {wall:.0f} s)")
        print(tabulate(cold_rows(rows), COLD_HEAD, tablefmt="github"))
        for r in rows:
            if r.get("region_class"):
                print(f"{r['name']}: {r['region_class']} ({r.get('region_source')}, "
                      f"{r.get('regions')} owner(s))")
        print(rec.get("summary"), flush=True)
        out[size] = {"rows": rows, "recommendation": rec, "diagnose_s": round(wall, 1)}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main()
