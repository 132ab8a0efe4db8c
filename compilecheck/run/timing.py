"""Steady-state latency of eager and compiled calls, side by side, with its spread.

Calls of the functions being compared alternate (A, B, A, B, ...), so whatever else the
machine does weighs on all of them alike. The latency is the wall-clock time of a call until
its work is done (on a GPU: until the device is synchronised), because that is what a policy
loop waits for. On a GPU each call is also timed with CUDA events (``gpu_ms``): the time the
device spends, which leaves out the launch and guard overhead on the CPU when the device is
idle (on an H200 events gave 0.006 ms for a compiled call whose launch takes ~0.1 ms), so
events alone would flatter exactly what CUDA graphs exist to remove. A stateful module gets
its state put back before each timed call (``before_each``), so that every call is the call
that was diagnosed.
"""
from __future__ import annotations

import dataclasses
import statistics
import time

import torch

BUDGET_S = 0.3  # per comparison, after the first few calls
MIN_REPS = 7
MAX_REPS = 300
DISCARD = 2  # the first calls of each function are not counted (caches, allocator)


@dataclasses.dataclass
class Timing:
    median_ms: float
    lo_ms: float  # 25th percentile
    hi_ms: float  # 75th percentile
    reps: int
    gpu_ms: float | None = None  # median CUDA-event time (GPU only)

    def to_json(self) -> list:
        return [round(self.lo_ms, 5), round(self.hi_ms, 5)]


def _quartiles(xs: list[float]) -> tuple[float, float]:
    if len(xs) < 4:
        return min(xs), max(xs)
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def time_calls(fns, args, device: str, before_each=None) -> list[Timing]:
    """One Timing per function in ``fns``, each called with ``args``."""
    cuda = device == "cuda"
    times: list[list[float]] = [[] for _ in fns]
    gpu: list[list[float]] = [[] for _ in fns]
    before_each = before_each or [None] * len(fns)
    start = time.perf_counter()
    rep = 0
    while rep < MIN_REPS + DISCARD or (time.perf_counter() - start < BUDGET_S
                                       and rep < MAX_REPS + DISCARD):
        for fn, acc, acc_gpu, prep in zip(fns, times, gpu, before_each):
            if prep is not None:
                prep()
            if cuda:
                begin, end = torch.cuda.Event(enable_timing=True), \
                    torch.cuda.Event(enable_timing=True)
                t0 = time.perf_counter()
                begin.record()
                fn(*args)
                end.record()
                end.synchronize()
                ms = (time.perf_counter() - t0) * 1000.0
                if rep >= DISCARD:
                    acc_gpu.append(begin.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn(*args)
                ms = (time.perf_counter() - t0) * 1000.0
            if rep >= DISCARD:
                acc.append(ms)
        rep += 1
    out = []
    for acc, acc_gpu in zip(times, gpu):
        lo, hi = _quartiles(acc)
        out.append(Timing(statistics.median(acc), lo, hi, len(acc),
                          statistics.median(acc_gpu) if acc_gpu else None))
    return out


def speedup_range(eager: Timing, compiled: Timing) -> tuple[float, float]:
    """The speedup's spread: eager's quartiles over compiled's."""
    return eager.lo_ms / compiled.hi_ms, eager.hi_ms / compiled.lo_ms
