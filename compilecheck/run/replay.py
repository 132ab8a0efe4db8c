"""A failing cell replayed in torch and the standard library alone: the run of a ticket's repro
script. It builds the module (the script's ``build()``), warms it up, compiles it with the
cell's mode and options, calls it the call pattern's way, and ends with one line: exit 1
"reproduced: ...", 0 "not reproduced here", 2 "cannot run here: ...".

report/repro.py puts this file's text (its relative imports left out: run/standalone.py's text
precedes it) into each script; nothing here imports compilecheck beyond run/standalone.py.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import traceback

import torch

from .standalone import (Runner, compile_kwargs, consume, representative, seed_all, to_device,
                         tolerance)

CHILD = "REPRO_CHILD"  # set in the child process a crash or time-out repro runs the cell in


def _one_line(text: str, n: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _error_line(e: BaseException) -> str:
    return _one_line(f"{type(e).__module__}.{type(e).__qualname__}: {e}")


def _subject(cell: dict, build):
    """The module and the inputs of its calls, on the cell's device, seeded and warmed up."""
    module, steps = build()
    if cell["scope"] != "whole":
        module, steps = representative(module, steps, cell["scope"], cell["iters"])
    device = cell["device"]
    module, steps = module.to(device), [to_device(a, device) for a in steps]
    seed_all(cell["seed"])
    with torch.no_grad():
        for i in range(cell["warmup"]):
            module(*steps[i % len(steps)])
    return module, steps


def _sync(cell):
    if cell["device"] == "cuda":
        torch.cuda.synchronize()


def eager_outputs(cell: dict, build) -> list:
    module, steps = _subject(cell, build)
    with torch.no_grad():
        outs = [consume(module(*steps[i % len(steps)])) for i in range(cell["calls"])]
    _sync(cell)
    return outs


def compiled_calls(cell: dict, module, steps) -> tuple[list, list, tuple | None]:
    """The compiled calls, the call pattern's way; stops at the first error.
    Returns (outputs copied out, outputs kept as returned, (call, error) or None)."""
    compiled = torch.compile(module, **compile_kwargs(cell["mode"], cell["cudagraphs"]))
    pattern = cell["pattern"]
    runner = Runner(pattern["threads"])
    grad = torch.enable_grad if pattern["grad"] else torch.no_grad
    outs, kept = [], []
    try:
        for i in range(cell["calls"]):
            def call(i=i):
                with grad():
                    return compiled(*steps[i % len(steps)])
            try:
                result = runner.call(i, call)
                _sync(cell)
                outs.append(consume(result))
                kept.append(result if pattern["keep"] else None)
            except Exception as e:
                return outs, kept, (i, e)
    finally:
        runner.close()
    return outs, kept, None


def _matches(expect: dict, e: BaseException) -> bool:
    if expect.get("message"):  # torch's own wording, where the class is defined by it
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        return re.search(expect["message"], text, re.I) is not None
    names = [f"{c.__module__}.{c.__qualname__}" for c in type(e).__mro__]
    return expect.get("error_type") in names


def _kept_changed(kept: list, outs: list) -> str | None:
    for i, (result, copied) in enumerate(zip(kept, outs)):
        if result is None or copied is None:
            continue
        try:
            now = consume(result)
        except Exception as e:
            return f"the output of call {i} raises when read after the later calls: " \
                   f"{_error_line(e)}"
        if now is not None and not torch.equal(now, copied):
            return f"the output kept from call {i} changed after the later calls " \
                   f"(by up to {float((now - copied).abs().max()):.3g})"
    return None


def _numerics(cell: dict, build, outs: list) -> str | None:
    refs = eager_outputs(cell, build)
    tol, worst, at = tolerance(refs), 0.0, None
    for i, (got, want) in enumerate(zip(outs, refs)):
        if got is None or want is None:
            continue
        if got.shape != want.shape:
            return f"call {i}: compiled output shape {tuple(got.shape)}, eager " \
                   f"{tuple(want.shape)}"
        err = float((got - want).abs().max())
        if err > worst:
            worst, at = err, i
    if worst > tol:
        return f"compiled output differs from eager by {worst:.3g} at call {at} " \
               f"(tolerance {tol:.3g}: 1% of the largest eager output)"
    return None


def verdict(cell: dict, build) -> tuple[int, str]:
    """(exit code, the one line): 1 reproduced, 0 not reproduced here, 2 cannot run here."""
    expect = cell["expect"]
    if cell["device"] == "cuda" and not torch.cuda.is_available():
        return 2, ("cannot run here: the cell needs a CUDA device"
                   + (" (for CUDA graphs)" if cell["cudagraphs"] else "")
                   + f"; torch {torch.__version__} here has none (torch.cuda.is_available() "
                   "is False)")
    try:
        module, steps = _subject(cell, build)
    except Exception as e:
        return 2, f"cannot run here: building or warming up the module failed: {_error_line(e)}"
    outs, kept, failed = compiled_calls(cell, module, steps)
    if failed is not None:
        i, e = failed
        if expect["class"] in ("numeric_mismatch", "kept_output_overwritten") or \
                not _matches(expect, e):
            return 0, f"not reproduced here (a different error at call {i}: {_error_line(e)})"
        return 1, f"reproduced: {_error_line(e)} (call {i})"
    seen = None
    if expect["class"] == "numeric_mismatch":
        seen = _numerics(cell, build, outs)
    elif expect["class"] == "kept_output_overwritten":
        seen = _kept_changed(kept, outs)
    if seen:
        return 1, f"reproduced: {_one_line(seen)}"
    return 0, f"not reproduced here ({cell['calls']} compiled calls ran without it, torch " \
              f"{torch.__version__})"


def _in_child(cell: dict) -> tuple[int, str]:
    """A crash or a hang costs the process: the cell runs in a child, timed out as the run
    timed it out."""
    env = dict(os.environ, **{CHILD: "1"})
    p = subprocess.Popen([sys.executable, os.path.abspath(sys.argv[0])], env=env,
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=cell["timeout"])
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        if cell["expect"]["class"] == "timeout":
            return 1, f"reproduced: no answer within {cell['timeout']:g} s (the run's time-out)"
        return 0, f"not reproduced here (the cell hung past {cell['timeout']:g} s instead)"
    lines = [line for line in out.splitlines() if line.strip()]
    if p.returncode in (0, 1, 2) and lines:
        return p.returncode, lines[-1]
    how = f"signal {signal.Signals(-p.returncode).name}" if p.returncode < 0 else \
        f"exit code {p.returncode}"
    if cell["expect"]["class"] == "crash":
        return 1, f"reproduced: the process died ({how})"
    return 0, f"not reproduced here (the process died instead: {how})"


def main(cell: dict, build) -> int:
    if cell["expect"]["class"] in ("crash", "timeout") and not os.environ.get(CHILD):
        code, line = _in_child(cell)
    else:
        import faulthandler

        faulthandler.enable()  # a crash shows where it happened
        code, line = verdict(cell, build)
    sys.stdout.flush()
    print(line, flush=True)
    return code
