"""How the caller calls the compiled module: one small entry per call pattern.

A pattern that means nothing without CUDA graphs says what it would check (``cpu_note``);
the planner turns that into a skip, with that sentence, on a machine without CUDA.
"""
from __future__ import annotations

import dataclasses

THREADS = 2


@dataclasses.dataclass(frozen=True)
class CallPattern:
    name: str
    summary: str
    cpu_note: str | None  # what it checks on a GPU, for the skip line where there is none
    grad: bool = False  # autograd recording during the calls
    keep: bool = False  # the caller keeps each output
    threads: int = 1
    predicts: str | None = None  # what CUDA graphs do to any module called this way


PATTERNS: dict[str, CallPattern] = {p.name: p for p in (
    CallPattern("loop", "each output copied out, under no_grad, one thread", None),
    CallPattern("keep-outputs", "the caller keeps each output and reads it after later calls",
                "on a GPU this keeps each output and checks it after later calls: under CUDA "
                "graphs a replay returns the same tensor object every call, so a kept output "
                "changes silently (and the first two calls' outputs raise when read)",
                keep=True, predicts="kept_output_overwritten"),
    CallPattern("grad", "called with grad enabled, as a module comes out of training code",
                None, grad=True),
    CallPattern("threads", f"calls from {THREADS} threads, interleaved",
                f"on a GPU this calls from {THREADS} threads in turn: each thread gets its own "
                "cudagraph tree (torch >= 2.13) or an assertion (older torch)",
                threads=THREADS, predicts="cudagraph_threads"),
)}
