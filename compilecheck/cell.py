"""One cell inside a worker: eager reference, compile, a policy loop of calls, measurements.

Everything here observes; nothing classifies. The result is a plain dict (an "observation")
that findings.py turns into findings.
"""
from __future__ import annotations

import copy
import logging
import statistics
import time
import traceback

import torch

from .spec import CellSpec

TIMING_BUDGET_S = 0.3  # steady-state timing: repeat calls up to this long (at least 5)
MAX_REPS = 200
LOG_ARTIFACTS = dict(recompiles=True, cudagraphs=True, graph_breaks=True)


class _Capture(logging.Handler):
    """Keeps the messages torch logs during a cell (recompiles, cudagraph skips, warnings)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if record.name.endswith("__trace") or len(self.lines) > 500:
            return
        try:
            self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:2000])
        except Exception:
            pass


_capture = _Capture()
_eager_cache: dict = {}


def install_log_capture():
    try:
        torch._logging.set_logs(**LOG_ARTIFACTS)  # ignored by torch when TORCH_LOGS is set
    except Exception:
        pass
    _attach_capture()


def _attach_capture():
    """torch's logging stops propagation at the loggers it configures (torch, torch._dynamo,
    torch._inductor, ...): listen on each of those, so every record is heard exactly once."""
    for name in ["torch", *logging.root.manager.loggerDict]:
        if not name.startswith("torch"):
            continue
        logger = logging.getLogger(name)
        if (name == "torch" or not logger.propagate) and _capture not in logger.handlers:
            logger.addHandler(_capture)


def describe_error(exc: BaseException, phase: str, step: int | None = None) -> dict:
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    text = str(exc)
    return {
        "phase": phase,
        "step": step,
        "type": mro[0],
        "mro": mro,
        "message": text[:6000],
        "traceback": "".join(traceback.format_exception(exc))[-6000:],
    }


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _to(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, device) for v in value)
    return value


def _step_inputs(args: tuple, steps: int, seed: int) -> list[tuple]:
    """Distinct inputs for successive policy steps from one example: step 0 is the example,
    later steps perturb its floating-point tensors."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(steps):
        out.append(tuple(
            a + 0.05 * i * torch.randn(a.shape, generator=g, dtype=a.dtype)
            if isinstance(a, torch.Tensor) and a.is_floating_point() and i else a
            for a in args
        ))
    return out


_templates: dict = {}


def build_probe(spec: CellSpec):
    """(module, [args per step]) on CPU, identical on every call (seeded). Built once per
    worker and handed out as fresh copies (building a large layer's rotations takes a while)."""
    key = (spec.variant, spec.probe, spec.shape, spec.config, spec.seed, spec.iters)
    if key not in _templates:
        _templates.clear()  # one template at a time: cells of one probe come together
        _templates[key] = _build(spec)
    module, steps = _templates[key]
    try:
        return copy.deepcopy(module), steps
    except Exception:  # a module that cannot be copied is built again
        return _build(spec)


def _build(spec: CellSpec):
    torch.manual_seed(spec.seed)
    if spec.probe is None:
        from . import probes
        from .probes.config import DuQuantConfig

        shape = probes.parse_shape(spec.shape)
        p = probes.build(spec.variant, shape, DuQuantConfig(**spec.config_dict), spec.seed,
                         spec.iters)
        return p.module, [(x,) for x in p.inputs]
    from .userprobe import call_factory, load_factory

    module, args = call_factory(load_factory(spec.probe), spec.probe)
    return module, _step_inputs(args, spec.iters, spec.seed)


def _first_tensor(out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(out, dict):
        return _first_tensor(list(out.values()))
    return None


def _consume(out) -> torch.Tensor | None:
    """What a policy loop does with an action: copy it out of the compiled call's memory."""
    t = _first_tensor(out)
    return None if t is None else t.detach().float().cpu().clone()


def _time_calls(fns, args, device) -> list[float]:
    """Median milliseconds per call of each of ``fns``, called in turn (A, B, A, B, ...), so
    that whatever else the machine does at the time weighs on all of them alike."""
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < 5 or (time.perf_counter() - start < TIMING_BUDGET_S
                                and len(times[0]) < MAX_REPS):
        for fn, acc in zip(fns, times):
            t0 = time.perf_counter()
            fn(*args)
            _sync(device)
            acc.append(time.perf_counter() - t0)
    return [statistics.median(t) * 1000.0 for t in times]


def eager_reference(spec: CellSpec) -> dict:
    """Eager outputs and latency, computed once per (probe, shape, config, seed, device)."""
    key = (spec.variant, spec.probe, spec.shape, spec.config, spec.seed, spec.iters, spec.device)
    if key in _eager_cache:
        return _eager_cache[key]
    try:
        module, steps = build_probe(spec)
        module = module.to(spec.device)
        steps = [_to(a, spec.device) for a in steps]
        outs = []
        with torch.no_grad():
            for args in steps:
                outs.append(_consume(module(*args)))
            (eager_ms,) = _time_calls([module], steps[-1], spec.device)
        ref = {"outputs": outs, "eager_ms": eager_ms, "error": None, "module": module}
    except Exception as e:
        ref = {"outputs": None, "eager_ms": None, "error": describe_error(e, "eager")}
    _eager_cache[key] = ref
    return ref


def _compile(module, spec: CellSpec):
    from torch._inductor import list_mode_options

    options = dict(list_mode_options(spec.mode))
    if spec.cudagraphs and options.get("triton.cudagraphs"):
        return torch.compile(module, mode=spec.mode)
    options["triton.cudagraphs"] = bool(spec.cudagraphs)
    return torch.compile(module, options=options)


def _reset():
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    _attach_capture()  # loggers created since the last cell
    counters.clear()
    clear = getattr(torch._dynamo.utils, "clear_compilation_metrics", None)
    if clear:
        clear()
    _capture.lines.clear()


def _metrics() -> list[dict]:
    get = getattr(torch._dynamo.utils, "get_compilation_metrics", None)
    rows = []
    for m in (get() if get else []):
        rows.append({k: _plain(getattr(m, k, None)) for k in (
            "co_name", "co_filename", "co_firstlineno", "recompile_reason", "num_graph_breaks",
            "fail_type", "fail_reason", "fail_user_frame_filename", "fail_user_frame_lineno",
            "cudagraph_skip_reason", "graph_op_count", "entire_frame_compile_time_s")})
    return rows


def _plain(v):
    return v if v is None or isinstance(v, (int, float, str, bool)) else str(v)


def run_cell(spec: CellSpec) -> dict:
    """Observe one cell. Never raises for the probe's own failures: they are observations."""
    obs: dict = {"eager_ms": None, "compiled_ms": None, "compile_s": None, "max_abs_err": None,
                 "tolerance": None, "error": None, "steps_done": 0, "counters": {},
                 "metrics": [], "logs": []}
    ref = eager_reference(spec)
    obs["eager_ms"] = ref["eager_ms"]
    if ref["error"]:
        obs["error"] = ref["error"]
        return obs
    if spec.mode == "eager":
        obs["steps_done"] = spec.iters
        return obs

    _reset()
    module, steps = build_probe(spec)
    module = module.to(spec.device)
    steps = [_to(a, spec.device) for a in steps]
    refs = ref["outputs"]
    scale = max((float(r.abs().max()) for r in refs if r is not None), default=1.0)
    obs["tolerance"] = 1e-2 * max(scale, 1e-3)
    worst = 0.0
    try:
        compiled = _compile(module, spec)
    except Exception as e:
        obs["error"] = describe_error(e, "compile")
        return obs
    with torch.no_grad():
        for i, args in enumerate(steps):
            phase = "compile" if i == 0 else "call"
            t0 = time.perf_counter()
            try:
                out = compiled(*args)
                _sync(spec.device)
                if i == 0:
                    obs["compile_s"] = time.perf_counter() - t0
                got = _consume(out)
            except Exception as e:
                obs["error"] = describe_error(e, phase, i)
                break
            obs["steps_done"] = i + 1
            if got is not None and refs[i] is not None and got.shape == refs[i].shape:
                worst = max(worst, float((got - refs[i]).abs().max()))
            elif got is not None and refs[i] is not None:
                obs["output_mismatch"] = (f"policy step {i}: compiled output shape "
                                          f"{tuple(got.shape)}, eager {tuple(refs[i].shape)}")
        obs["max_abs_err"] = worst if obs["steps_done"] else None
        if obs["error"] is None:
            try:
                # eager and compiled timed side by side: the speedup is what matters
                obs["eager_ms"], obs["compiled_ms"] = _time_calls(
                    [ref["module"], compiled], steps[-1], spec.device)
            except Exception as e:
                obs["error"] = describe_error(e, "call", spec.iters)
    from torch._dynamo.utils import counters

    obs["counters"] = {k: {str(kk): vv for kk, vv in v.items()} for k, v in counters.items()
                       if k in ("stats", "graph_break", "inductor", "frames", "unimplemented")}
    obs["metrics"] = _metrics()
    obs["logs"] = list(_capture.lines)
    return obs
