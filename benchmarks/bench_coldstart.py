"""The cold-start rows (compilecheck diagnose --cold-start) on the built-in policy, without the
cells: each row a fresh process with its own empty cache folders, the policy compiled in its
own mode, then the table and the recommendation.

    python benchmarks/bench_coldstart.py [--policy tiny --policy tiny-2x] [--calls 500]
                                         [--json rows.json]

Not a test: figures only (docs/performance.md keeps them). Run it alone on the machine: each
row is a whole cold compile, and other compiles on the same cores stretch every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from compilecheck.diagnose import Progress, cold_start  # noqa: E402
from compilecheck.plan.options import diagnose_options  # noqa: E402
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
        options = diagnose_options(a.device, (), (), "off", "tiny", None, None, None, None,
                                   None, 4, a.timeout, 1, 0, (), False, (), size,
                                   cold_start=True, calls=a.calls)
        rows, rec = cold_start(options, Progress(0))
        print(f"\n--policy {size} ({options.target_mode}, {a.device}, {a.calls} calls)")
        print(tabulate(cold_rows(rows), COLD_HEAD, tablefmt="github"))
        print(rec["summary"])
        out[size] = {"rows": rows, "recommendation": rec}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main()
