"""A cell's TORCH_TRACE, for a ticket: the cell run again in a worker of its own started with
``TORCH_TRACE=DIR`` (torch then writes ``DIR/dedicated_log_torch_trace_*.log``, one file per
process, the file ``tlparse`` reads). The worker skips its compiler warm-up when it is traced,
so the log holds the cell's compiles only."""
from __future__ import annotations

import dataclasses
import glob
import os

from ..plan.spec import CellSpec

TRACE_ENV = "TORCH_TRACE"
TRACE_GLOB = "dedicated_log_torch_trace_*.log"


def traced(spec: CellSpec, folder: str) -> CellSpec:
    """The same cell, for a worker whose torch writes its trace into ``folder``."""
    env = tuple(p for p in spec.env if p[0] != TRACE_ENV) + ((TRACE_ENV, folder),)
    return dataclasses.replace(spec, env=env)


def trace_files(folder: str) -> list[str]:
    """The trace logs torch wrote into ``folder``, largest first (one per process)."""
    return sorted(glob.glob(os.path.join(folder, TRACE_GLOB)), key=os.path.getsize,
                  reverse=True)


def record(pool, specs: list[CellSpec], root: str, on_result=None) -> list[tuple]:
    """Run each cell again with its own trace folder under ``root``: [(raw result, [trace
    files])], in the order of ``specs``."""
    folders = [os.path.join(root, f".torch-trace-{i + 1}") for i in range(len(specs))]
    for f in folders:
        os.makedirs(f, exist_ok=True)
    def done(raw):  # its worker served this cell only: it goes now
        pool.retire(raw.spec.env)
        if on_result is not None:
            on_result(raw)

    runs = pool.run([traced(s, f) for s, f in zip(specs, folders)], on_result=done)
    return [(r, trace_files(f)) for r, f in zip(runs, folders)]
