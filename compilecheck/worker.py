"""The worker process: imports torch once, then runs cells sent as JSON lines on stdin.

Replies go to a private copy of the original stdout; fd 1 itself is pointed at stderr, so
whatever torch or the probe prints cannot corrupt the protocol.
"""
from __future__ import annotations

import faulthandler
import json
import os
import resource
import sys


def _limit_memory():
    limit = os.environ.get("COMPILECHECK_WORKER_MAX_BYTES")
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    faulthandler.enable()  # a segfault or abort leaves its Python stack in the worker's log
    _limit_memory()
    import torch

    threads = os.environ.get("COMPILECHECK_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    from .cell import describe_error, install_log_capture, run_cell
    from .spec import CellSpec

    install_log_capture()
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            spec = CellSpec.from_json(line)
            print(f"compilecheck worker: cell {spec.label}", file=sys.stderr, flush=True)
            obs = run_cell(spec)
        except BaseException as e:  # an internal error still answers, and the worker lives on
            obs = {"internal_error": describe_error(e, "internal")}
        proto.write(json.dumps(obs, default=str) + "\n")


if __name__ == "__main__":
    main()
