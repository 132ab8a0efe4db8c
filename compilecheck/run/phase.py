"""What a worker is doing now, read from its main thread's stack: a sampler thread classifies
the stack once a second (building the module, the state audit, the eager reference, dynamo
tracing, lowering in AOT autograd and inductor, building kernels, calling the compiled
module, timing), adds the second to that phase, and hands the pool a progress line at every
change of phase and every ``HEARTBEAT_S`` seconds. A cell that runs out of time is then
reported with what it was doing and for how long, never as a verdict (docs/failure-modes.md).
"""
from __future__ import annotations

import os
import sys
import threading
import time

SAMPLE_S = 1.0
HEARTBEAT_S = 10.0
COMPILING = ("tracing", "lowering", "building kernels")

_SEP = os.sep


def _torch_root() -> str:
    import torch

    return os.path.dirname(torch.__file__) + _SEP


# innermost match wins: a C++ compile runs inside inductor, which runs inside AOT autograd,
# which runs inside dynamo's compile of the frame
_KERNELS = ("_inductor/codecache.py", "_inductor/cpp_builder.py", "_inductor/async_compile.py",
            "_inductor/select_algorithm.py", "_inductor/autotune_process.py",
            "_inductor/runtime/", "_inductor/compile_worker/")
_LOWERING = ("_inductor/", "_functorch/")
_OURS = {  # compilecheck's own functions on the stack, outside a compile
    "_timed": "timing calls", "time_calls": "timing calls",
    "run_steps": "calling the compiled module", "audit_for": "state audit",
    "eager_reference": "eager reference calls", "warm_up": "warm-up calls",
    "fresh": "building the module", "run_cell": "starting",
}


def classify(frames: list, torch_root: str) -> tuple[str, str | None]:
    """(phase, what dynamo is tracing) for a stack, innermost frame first."""
    compiling = False
    tracing = None
    for f in frames:
        path = f.f_code.co_filename
        if path.startswith(torch_root) and path.endswith(os.path.join("_dynamo",
                                                                      "convert_frame.py")):
            compiling = True
            break
    if compiling:
        for f in frames:
            rel = f.f_code.co_filename
            if not rel.startswith(torch_root):
                continue
            rel = rel[len(torch_root):].replace(_SEP, "/")
            if any(k in rel for k in _KERNELS):
                return "building kernels", None
            if rel.startswith(_LOWERING):
                return "lowering", None
            if tracing is None and rel == "_dynamo/symbolic_convert.py" \
                    and f.f_code.co_name == "step":
                tracing = _traced(f)
        return "tracing", tracing
    for f in frames:
        phase = _OURS.get(f.f_code.co_name)
        if phase and "compilecheck" in f.f_code.co_filename:
            return phase, None
    return "working", None


def _traced(frame) -> str | None:
    """The user function dynamo's instruction translator is in (``self.f_code``), if this
    frame is one of its methods."""
    try:
        tx = frame.f_locals.get("self")
        code = getattr(tx, "f_code", None)
        if code is None or not hasattr(code, "co_filename"):
            return None
        line = getattr(tx, "lineno", None) or code.co_firstlineno
        return f"{code.co_name}() at {os.path.basename(code.co_filename)}:{line}"
    except Exception:  # a translator half-built, a frame gone: nothing to say
        return None


class PhaseSampler:
    """One per worker: ``start(label)`` when a cell begins, ``stop()`` when it ends; ``emit``
    receives each progress dict."""

    def __init__(self, emit, main_ident: int | None = None):
        self.emit = emit
        self.main = main_ident or threading.main_thread().ident
        self.root = _torch_root()
        self.lock = threading.Lock()
        self.label = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def start(self, label: str):
        with self.lock:
            self.label = label
            self.t0 = time.monotonic()
            self.seconds: dict = {}
            self.phase, self.since, self.tracing = "starting", self.t0, None
            self.compile_from = None
            self.last_emit = 0.0
            self.graphs0 = _graphs_handed()

    def stop(self):
        with self.lock:
            self.label = None

    def state(self) -> dict:
        now = time.monotonic()
        compiled = sum(self.seconds.get(p, 0.0) for p in COMPILING)
        return {"cell": self.label, "phase": self.phase, "phase_s": round(now - self.since, 1),
                "elapsed_s": round(now - self.t0, 1),
                "compile_s": round(compiled, 1),
                "compile_since_s": round(now - self.compile_from, 1)
                if self.compile_from is not None else None,
                "phases": {k: round(v, 1) for k, v in self.seconds.items()},
                "tracing": self.tracing, "graphs": _graphs_handed() - self.graphs0}

    def _loop(self):
        while not self._stop.wait(SAMPLE_S):
            frame = sys._current_frames().get(self.main)
            frames = []
            while frame is not None:
                frames.append(frame)
                frame = frame.f_back
            try:
                phase, tracing = classify(frames, self.root)
            except Exception:  # never let the sampler take the worker down
                continue
            finally:
                del frames, frame
            with self.lock:
                if self.label is None:
                    continue
                now = time.monotonic()
                self.seconds[phase] = self.seconds.get(phase, 0.0) + SAMPLE_S
                if phase in COMPILING and self.compile_from is None:
                    self.compile_from = now - SAMPLE_S
                if tracing:
                    self.tracing = tracing
                changed = phase != self.phase
                if changed:
                    self.phase, self.since = phase, now
                if changed or now - self.last_emit >= HEARTBEAT_S:
                    self.last_emit = now
                    state = self.state()
                else:
                    state = None
            if state is not None:
                try:
                    self.emit(state)
                except Exception:
                    pass


def _graphs_handed() -> int:
    from ..observe.profile import graphs_handed

    return graphs_handed()


def describe(progress: dict | None) -> str:
    """One clause for a person: what the cell was doing at the end, and for how long."""
    if not progress:
        return "with no progress reported"
    phases = progress.get("phases") or {}
    compiled = progress.get("compile_s") or 0.0
    parts = [f"{p} {phases[p]:.0f} s" for p in COMPILING if phases.get(p)]
    if progress.get("graphs"):
        parts.append(f"{progress['graphs']} graph(s) to inductor")
    now = progress.get("phase") or "working"
    what = now + (f" {progress['tracing']}" if now == "tracing" and progress.get("tracing")
                  else "")
    if compiled:
        return f"compiling for at least {compiled:.0f} s and still {what} ({', '.join(parts)})"
    return f"still {what} ({progress.get('phase_s', 0):.0f} s), before any compile"
