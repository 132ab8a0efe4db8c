"""What a diagnosis costs, against the floor: the same cells compiled and called bare.

    python benchmarks/bench_diagnose.py [--shape gemma-300m] [--modes default ...]

Prints, for the default CPU matrix (and a larger shape): the wall time of
`compilecheck diagnose` with a cold inductor cache, the per-cell compile and call times,
the wall time of the same cells compiled and called bare in one process (cold cache too),
their ratio, and a warm re-run (caches kept) against the cold one. Not a test: figures only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BARE = r"""
import json, sys, time
from compilecheck.plan.cells import DiagnoseOptions, plan
from compilecheck.run.cell import run_cell
from compilecheck.observe.records import install_log_capture
from compilecheck.probes.config import DuQuantConfig
opts = json.loads(sys.argv[1])
o = DiagnoseOptions(shape=opts["shape"], modes=tuple(opts["modes"]),
                    config=tuple(sorted(DuQuantConfig().__dict__.items())),
                    target=opts.get("target"))
from compilecheck.plan.schedule import plan_runs
from compilecheck.run.worker import warm_compiler
p = plan(o)
cells, _ = plan_runs([c for c in p.cells if c.skip_reason is None], p.modes)  # what diagnose runs
install_log_capture()
warm_compiler("cpu")  # the process's one-time compile costs, counted in the bare figure too
t = time.perf_counter()
for c in cells:
    run_cell(c)
print(json.dumps({"cells": len(cells), "wall_s": time.perf_counter() - t}))
"""


def timed(cmd, env) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - t, p


def one_shape(shape: str, modes: list[str], jobs: int | None):
    cache = tempfile.mkdtemp(prefix="cc-bench-cache-")
    bare_cache = tempfile.mkdtemp(prefix="cc-bench-bare-")
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, PYTHONPATH=ROOT)
    out = tempfile.mkdtemp(prefix="cc-bench-out-")
    args = [sys.executable, "-m", "compilecheck", "diagnose", "--shape", shape, "--quiet",
            "--device", "cpu"]
    for m in modes:
        args += ["--mode", m]
    if jobs:
        args += ["--jobs", str(jobs)]
    cold_s, p = timed(args + ["--json", os.path.join(out, "cold.json")], env)
    if p.returncode not in (0, 1):
        print(p.stderr[-2000:])
        raise SystemExit(f"diagnose failed with exit {p.returncode}")
    warm_s, _ = timed(args + ["--json", os.path.join(out, "warm.json")], env)
    target = None if modes else "max-autotune"
    bare_env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=bare_cache, PYTHONPATH=ROOT,
                    TORCHINDUCTOR_COMPILE_THREADS="1")
    t = time.perf_counter()
    b = subprocess.run([sys.executable, "-c", BARE, json.dumps(
        {"shape": shape, "modes": modes or ["eager", "default", "reduce-overhead",
                                            "max-autotune", "max-autotune-no-cudagraphs"],
         "target": target})], env=bare_env, capture_output=True, text=True, cwd=ROOT)
    bare_s = time.perf_counter() - t
    if b.returncode:
        print(b.stderr[-2000:])
    bare = json.loads(b.stdout.strip().splitlines()[-1])
    report = json.load(open(os.path.join(out, "cold.json")))
    print(f"\n== shape {shape}, modes {' '.join(modes) or 'all'}")
    print(f"{'cell':<58} {'status':<6} {'compile s':>9} {'eager ms':>9} {'compiled ms':>11} "
          f"{'wall s':>7}")
    for c in report["cells"]:
        if c["status"] == "skip":
            continue
        label = f"{c['variant']}/{c['mode']}/cg {c['cudagraphs']}" + \
                (f" [{c['role']}]" if c["role"] != "matrix" else "")
        f = lambda x, s="{:.2f}": "" if x is None else s.format(x)
        print(f"{label:<58} {c['status']:<6} {f(c['compile_s']):>9} "
              f"{f(c['eager_ms'], '{:.3f}'):>9} {f(c['compiled_ms'], '{:.3f}'):>11} "
              f"{f(c['wall_s']):>7}")
    ran = sum(1 for c in report["cells"] if c["status"] != "skip")
    profile_s = sum((c.get("compile_profile") or {}).get("profile_s", 0.0)
                    for c in report["cells"])
    audit_s = {v: a["seconds"] for v, a in report["state_writes"].items()}
    print(f"cells in the report: {ran}, run: {bare['cells']} (the rest the same experiment as "
          "one of those); the bare run runs the same cells")
    goal = "   (goal for the default CPU matrix: <= 30 s)" if shape == "tiny" and not modes \
        else ""
    print(f"compilecheck diagnose, cold cache : {cold_s:7.1f} s{goal}")
    print(f"bare, one process, cold cache     : {bare_s:7.1f} s (cells alone {bare['wall_s']:.1f} s)")
    print(f"ratio diagnose / bare (cold)      : {cold_s / bare_s:7.2f}   (goal <= 1.2)")
    print(f"warm re-run                       : {warm_s:7.1f} s = {100 * warm_s / cold_s:.0f}% of "
          f"cold (goal <= 30%)")
    print(f"compile profiles' own cost        : {profile_s:7.3f} s in all cells")
    print("state audit, per worker and probe : " + ", ".join(
        f"{v} {s:.3f} s" for v, s in audit_s.items()) + f" (sum {sum(audit_s.values()):.2f} s "
        f"= {100 * sum(audit_s.values()) / cold_s:.1f}% of cold per worker)")
    return cold_s, warm_s, bare_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", action="append", default=None,
                    help="shapes to measure (default: tiny, then 256x1024x1024)")
    ap.add_argument("--large-modes", nargs="*", default=["eager", "default",
                                                          "max-autotune-no-cudagraphs"])
    ap.add_argument("--jobs", type=int, default=None)
    a = ap.parse_args()
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"python {platform.python_version()}")
    shapes = a.shape or ["tiny", "256x1024x1024"]
    for s in shapes:
        one_shape(s, [] if s == "tiny" else a.large_modes, a.jobs)


if __name__ == "__main__":
    main()
