"""Diagnose a module object from Python: what the pytest fixture calls.

The module and its example inputs (or a factory that builds them) are pickled with
cloudpickle (plan/shipping.py) and loaded in the isolated workers, so a crash or a hang still
costs only its own cell. Classes defined inside a test, layers holding closures or lambdas and
the test file's own classes travel by value; an object that cannot travel is named, with the
way out (``factory=``).
"""
from __future__ import annotations

import os
import re
import tempfile

from .plan.cells import DEFAULT_MODES, DiagnoseOptions
from .report.report import Report


def check(module=None, args=(), modes=None, cudagraphs: str = "both", device: str = "auto",
          iters: int = 4, timeout: float = 600.0, jobs: int = 0, seed: int = 0,
          name: str | None = None, quiet: bool = True, call_patterns=None,
          factory=None) -> Report:
    """compilecheck diagnose --probe for a module object; returns the Report.
    ``call_patterns``: how the caller calls it (loop, keep-outputs, grad, threads; default
    all). ``factory``: instead of ``module, args``, a callable returning (module, args),
    called in each worker (for a module that cannot be pickled, or one cheaper to build
    there); raises ``CannotShip`` (one line) where neither can be sent."""
    import torch

    from .vocab.callpatterns import PATTERNS
    from .diagnose import diagnose
    from .plan.cells import DEFAULT_PATTERNS, torch_modes

    from .plan.shipping import ship

    if isinstance(args, torch.Tensor):
        args = (args,)
    if factory is not None:
        if module is not None or not callable(factory):
            raise TypeError("compilecheck: give either a module and its args, or factory=, a "
                            "callable returning (module, args)")
    elif not isinstance(module, torch.nn.Module):
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
    name = re.sub(r"\W", "_", name or (getattr(factory, "__name__", "factory") if factory
                                        else type(module).__name__))
    data = ship(factory, f"the factory {name}") if factory is not None else \
        ship((module, tuple(args)), f"the module {name}")
    with tempfile.TemporaryDirectory(prefix="compilecheck-api-") as tmp:
        path = os.path.join(tmp, f"{name}.pkl")
        with open(path, "wb") as f:
            f.write(data)
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
