"""The policy steps of a cell, called the way its call pattern says (vocab/callpatterns.py).

Per step it records what the detectors need: the output copied at the time, the error, which
state the compiled call changed, the compiles it triggered, the thread that ran it, and for
keep-outputs the output object itself, to read again after the later calls.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import warnings

import torch

from ..vocab.callpatterns import CallPattern
from ..observe.statediff import diff
from ..observe.statewalk import own_tensors, walk
from .standalone import Runner, consume, first_tensor  # noqa: F401  (consume: cell.py's too)


@dataclasses.dataclass
class Step:
    index: int
    output: torch.Tensor | None = None  # copied out at the time
    seconds: float = 0.0
    error: BaseException | None = None
    writes: list = dataclasses.field(default_factory=list)  # statediff.Change
    thread: str = "main"
    compiled: int = 0  # compiles this call triggered
    kept: object = None  # keep-outputs: the output object itself
    requires_grad: bool | None = None


def _compiles() -> int:
    get = getattr(torch._dynamo.utils, "get_compilation_metrics", None)
    return len(get()) if get else 0


def cudagraphs_recorded(device_index: int = 0) -> int | None:
    """CUDA graphs the calling thread's cudagraph tree recorded (None: no tree here)."""
    try:
        from torch._inductor import cudagraph_trees as ct

        mgr = ct.get_manager(device_index, create_if_none_exists=False)
    except Exception:
        return None
    if mgr is None:
        return None
    n, todo = 0, list(mgr.get_roots())
    while todo:
        node = todo.pop()
        n += 1
        todo.extend(c for cs in node.children.values() for c in cs)
    return n


@dataclasses.dataclass
class Calls:
    """What the steps of one cell saw, beyond each step's own record."""

    steps: list
    warnings: list  # warnings torch raised during the calls (cudagraph trees warn this way)
    recorded: dict  # thread -> CUDA graphs its tree recorded (GPU, CUDA graphs on)


def run_steps(pattern: CallPattern, compiled, subject, steps: int,
              cudagraphs: bool = False, settle: int = 0) -> Calls:
    """The cell's policy steps, called the pattern's way; stops at the first error. Where
    every call after the first compiled again, up to ``settle`` more calls see whether the
    recompiles stop (dynamo makes a value that changed dynamic and stops guarding on it) or
    go on with every call (state that changes each call): the first call that compiles
    nothing ends them, and together they take no longer than the first call (its compile)."""
    out: list[Step] = []
    runner = Runner(pattern.threads)
    grad = torch.enable_grad if pattern.grad else torch.no_grad
    caught: list = []
    recorded: dict = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _steps(out, runner, grad, compiled, subject, steps, pattern, settle)
        if cudagraphs and subject.device == "cuda":
            for t in range(max(1, pattern.threads)):
                name = runner.call(t, lambda: threading.current_thread().name)
                recorded[name] = runner.call(t, cudagraphs_recorded)
    finally:
        runner.close()
    return Calls(out, [f"{w.category.__name__}: {w.message}"[:500] for w in caught], recorded)


def _recompiling(out: list) -> bool:
    """Every call so far after the first compiled again, and none failed."""
    return len(out) > 1 and all(s.error is None and s.compiled for s in out[1:])


def _steps(out, runner, grad, compiled, subject, steps, pattern, settle=0):
    module = subject.module  # what the compiled calls may change
    # the module's own tensors, made before compiling: their data is read after each call
    # (a write through .data moves no version counter); a graph output's never is
    own = own_tensors(walk(module, args=subject.inputs(0)))
    i = 0
    while i < steps or (i < steps + settle and _recompiling(out) and
                        sum(s.seconds for s in out[steps:]) <= out[0].seconds):
        # the calls beyond the plan cost at most what the first call's compile cost
        step = Step(i)
        args = subject.inputs(i)
        before, compiles = walk(module, data=own, args=args), _compiles()

        def call(i=i, step=step):
            step.thread = threading.current_thread().name
            with grad():
                return compiled(*subject.inputs(i))

        t0 = time.perf_counter()
        try:
            result = runner.call(i, call)
            subject.sync()
            step.seconds = time.perf_counter() - t0
            t = first_tensor(result)
            step.requires_grad = None if t is None else bool(t.requires_grad)
            step.output = consume(result)
            if pattern.keep:
                step.kept = result
        except Exception as e:
            step.error = e
        step.compiled = _compiles() - compiles
        step.writes = diff(before, walk(module, data=own, args=args))
        out.append(step)
        i += 1
        if step.error is not None:
            break


def check_kept(steps: list[Step]) -> list[dict]:
    """Each kept output read again after the later calls: did it change, does it raise?"""
    problems = []
    for s in steps:
        if s.kept is None or s.output is None:
            continue
        try:
            now = consume(s.kept)
        except Exception as e:  # the overwrite error on access
            problems.append({"call": s.index, "error": f"{type(e).__name__}: {e}"[:400]})
            continue
        if now is not None and not torch.equal(now, s.output):
            diffmax = float((now - s.output).abs().max()) if now.shape == s.output.shape \
                else None
            problems.append({"call": s.index, "changed_by": diffmax})
    return problems


def same_objects(steps: list[Step]) -> int:
    """How many calls returned the very tensor object an earlier call returned."""
    seen, same = set(), 0
    for s in steps:
        t = first_tensor(s.kept)
        if t is None:
            continue
        key = id(t)
        same += key in seen
        seen.add(key)
    return same
