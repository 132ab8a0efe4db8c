"""What diagnosing the whole policy costs against compiling it once as a user does.

For each size (default: tiny and tiny-2x, twice the blocks), with a cold inductor cache each:
- bare: one process, torch alone: build the policy (deployed DuQuant layers), torch.compile
  it in the target mode as the fork does, call it --iters times under no_grad;
- diagnose: `compilecheck diagnose --device cpu --policy SIZE --quiet`, and the same policy as
  a user's own factory, `--probe benchmarks/policy_factory.py:SIZE` (``--via``).
Every run has its own empty inductor cache and temporary folder (the CPU's precompiled headers
live there). Prints the wall times and their ratio (the goal of issue 20: at most 1.3).

    .venv/bin/python benchmarks/bench_policy.py [--sizes tiny tiny-2x] [--via policy probe]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BARE = """
import sys, time, torch
from compilecheck import probes
size, mode, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
module, _ = probes.build_policy(size, "deployed", probes.DuQuantConfig.from_env(), 0)
calls = probes.policy_inputs(size, 0, iters)
compiled = torch.compile(module, mode=mode)
t0 = time.perf_counter()
with torch.no_grad():
    for args in calls:
        compiled(*args)
print(f"first {iters} calls {time.perf_counter() - t0:.1f}")
"""


def timed(cmd) -> float:
    """Seconds ``cmd`` takes with its own empty inductor cache and temporary folder."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TMPDIR=tmp)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[:4])}... failed ({p.returncode}): {p.stderr[-2000:]}")
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["tiny", "tiny-2x"])
    ap.add_argument("--mode", default="reduce-overhead")
    ap.add_argument("--iters", type=int, default=4)
    ap.add_argument("--via", nargs="+", default=["policy", "probe"], choices=["policy", "probe"])
    a = ap.parse_args()
    print(f"{'size':<10} {'via':<8} {'bare s':>8} {'diagnose s':>11} {'ratio':>6}", flush=True)
    for size in a.sizes:
        bare = timed([sys.executable, "-c", BARE, size, a.mode, str(a.iters)])
        for via in a.via:
            subject = ["--policy", size] if via == "policy" else \
                ["--probe", f"benchmarks/policy_factory.py:{size.replace('-', '_')}"]
            diag = timed([sys.executable, "-m", "compilecheck", "diagnose", "--device", "cpu",
                          *subject, "--mode", "eager", "--mode", a.mode, "--iters",
                          str(a.iters), "--quiet"])
            print(f"{size:<10} {via:<8} {bare:>8.1f} {diag:>11.1f} {diag / bare:>6.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
