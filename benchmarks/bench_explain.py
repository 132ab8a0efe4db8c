"""Throughput and memory of `compilecheck explain` on a large log (not a test; figures only).

    python benchmarks/bench_explain.py [--mb 100] [--unique]

Builds a log of the requested size from the test corpus (tests/data/logs), runs
`compilecheck explain --json` on it in a fresh process, and prints wall time, MB/s and the
process's peak resident memory, next to the same for a 1 MB log (flat memory means the two
peaks are close).

The log repeats the corpus, so explain's cache of distinct lines serves most of it.
--unique gives every line its own `[N] ` tag (a prefix explain strips), so no line repeats
and nothing comes from the cache: the worst case.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_log(path: str, mb: float, unique: bool = False) -> int:
    corpus = "".join(open(p, encoding="utf-8").read()
                     for p in sorted(glob.glob(os.path.join(ROOT, "tests/data/logs/*.log"))))
    filler = "step 1234: loss 0.4821 actions ok latency 41.2 ms\n" * 200
    block = corpus + filler
    target = int(mb * 1024 * 1024)
    with open(path, "wb") as f:
        written, n = 0, 0
        while written < target:
            if unique:
                lines = block.splitlines(True)
                data = "".join(f"[{n + i}] {line}" for i, line in enumerate(lines)).encode()
                n += len(lines)
            else:
                data = block.encode()
            f.write(data)
            written += len(data)
    return written


def run(path: str):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", "import resource, sys, runpy; "
                        "sys.argv = ['compilecheck', 'explain', sys.argv[1], '--json']; "
                        "from compilecheck.cli import run\n"
                        "try:\n    run()\nexcept SystemExit:\n    pass\n"
                        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                        "file=sys.stderr)", path],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    wall = time.perf_counter() - t
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return wall, rss_kb, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--unique", action="store_true", help="no line repeats (no cache hits)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (1, a.mb):
            path = os.path.join(tmp, f"log{mb}.log")
            size = make_log(path, mb, a.unique)
            wall, rss, out = run(path)
            print(f"{size / 2**20:7.1f} MB: {wall:6.2f} s, {size / 2**20 / wall:6.1f} MB/s, "
                  f"peak RSS {rss / 1024:6.1f} MB, {out['lines_read']} lines, primary "
                  f"{out['primary']}, {sum(out['counts'].values())} lines claimed")


if __name__ == "__main__":
    main()
