"""The environment a worker process starts with: the device it warms the compiler up on, its
threads, the paths that import compilecheck (and whatever its caller can import) there, the
memory a CPU cell may take, and a rung's own variables."""
from __future__ import annotations

import os
import sys


def worker_env(extra: tuple, threads: int, jobs: int, device: str = "cpu") -> dict:
    env = dict(os.environ)
    env["COMPILECHECK_DEVICE"] = device  # what the worker warms the compiler up on
    env.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")  # no compile pool per worker
    env["COMPILECHECK_THREADS"] = str(max(1, threads))
    # make the package importable in the worker exactly as it is here, and whatever the
    # caller can import (a pytest run's test modules, say)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [pkg_parent, env.get("PYTHONPATH")] + [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in paths if p))
    if "COMPILECHECK_WORKER_MAX_BYTES" not in env:
        try:  # CPU cells: out-of-memory becomes an exception, not the kernel's OOM killer
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            env["COMPILECHECK_WORKER_MAX_BYTES"] = str(max(8 << 30, int(total * 0.8 / jobs)))
        except (ValueError, OSError):
            pass
    env.update(dict(extra))
    return env
