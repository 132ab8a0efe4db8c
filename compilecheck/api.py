"""Diagnose a module object from Python: what the pytest fixture calls.

The module and its example inputs are saved with torch.save and loaded in the isolated
workers, so a crash or a hang still costs only its own cell. Define the module's class at
module level (pickle must find it by name).
"""
from __future__ import annotations

import os
import re
import tempfile

from .plan.cells import DEFAULT_MODES, DiagnoseOptions
from .report.report import Report


def check(module, args, modes=None, cudagraphs: str = "both", device: str = "auto",
          iters: int = 4, timeout: float = 600.0, jobs: int = 0, seed: int = 0,
          name: str | None = None, quiet: bool = True, call_patterns=None) -> Report:
    """compilecheck diagnose --probe for a module object; returns the Report.
    ``call_patterns``: how the caller calls it (loop, keep-outputs, grad, threads; default
    all)."""
    import torch

    from .vocab.callpatterns import PATTERNS
    from .diagnose import diagnose
    from .plan.cells import DEFAULT_PATTERNS, torch_modes

    if isinstance(args, torch.Tensor):
        args = (args,)
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"compilecheck: expected a torch.nn.Module, got {type(module).__name__}")
    if cudagraphs not in ("on", "off", "both"):
        raise ValueError(f"cudagraphs={cudagraphs!r}: expected on, off or both")
    known = torch_modes()
    modes = tuple(modes) if modes else tuple(m for m in DEFAULT_MODES
                                             if m == "eager" or m in known)
    for m in modes:
        if m != "eager" and m not in known:
            raise ValueError(f"mode {m!r}: expected eager or one of {', '.join(known)}")
    patterns = tuple(dict.fromkeys(("loop", *call_patterns))) if call_patterns \
        else DEFAULT_PATTERNS
    for p in patterns:
        if p not in PATTERNS:
            raise ValueError(f"call pattern {p!r}: expected one of {', '.join(PATTERNS)}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    name = re.sub(r"\W", "_", name or type(module).__name__)
    with tempfile.TemporaryDirectory(prefix="compilecheck-api-") as tmp:
        path = os.path.join(tmp, f"{name}.pt")
        torch.save((module, tuple(args)), path)
        options = DiagnoseOptions(device=device, modes=modes, cudagraphs=cudagraphs,
                                  iters=iters, timeout=timeout, jobs=jobs, seed=seed,
                                  probes=(f"pickle:{path}",), patterns=patterns,
                                  judge_patterns=bool(call_patterns))
        return diagnose(options, quiet=quiet)


def failures(report: Report, strict: bool = True) -> list:
    """Cells that fail the check: failed ones, and with ``strict`` the warned ones too."""
    bad = {"fail", "warn"} if strict else {"fail"}
    return [c for c in report.compiled_cells if c.status in bad] + \
        [c for c in report.cells if c.mode == "eager" and c.status == "fail"]


def paragraph(cell) -> str:
    """One readable paragraph: class, attribute, file:line, fix."""
    from .vocab.findings import CLASSES

    called = f" / called {cell.pattern}" if cell.pattern != "loop" else ""
    head = f"compilecheck: {cell.variant} / {cell.mode} / cudagraphs {cell.cudagraphs}{called}"
    if not cell.findings:
        return f"{head}: {cell.status}: {cell.error}"
    f = cell.findings[0]
    cls = CLASSES[f["class"]]
    where = f" at {f['where']}" if f.get("where") else ""
    return f"{head}: {f['class']}{where}: {f['detail']} Fix: {cls.fix}"
