"""One cell inside a worker: the state audit, the eager reference, the compile, the policy
steps called the pattern's way, and the measurements.

Everything here observes; nothing classifies. The result is a plain dict (an "observation")
that classify/detectors.py turns into findings. The eager reference and the compiled copy start from
the same seed and have the same call history (the warm-up calls, then the steps), so that
a difference between them is the compiler's, never the harness's.
"""
from __future__ import annotations

import torch

from ..observe import records as observe
from ..observe import profile
from ..observe.audit import run_audit
from ..vocab.callpatterns import PATTERNS
from ..vocab.rungs import NOTHING_TO_WARM
from .steps import check_kept, consume, run_steps, same_objects
from ..observe.records import describe_error
from ..observe.profile import RecordingBackend
from ..plan.spec import CellSpec
from ..observe.statediff import Checkpoint
from .standalone import compile_kwargs, tolerance
from .subject import NoRepresentative, fresh, probe_key, seed_all
from .timing import time_calls

_audits: dict = {}
_refs: dict = {}


def audit_for(spec: CellSpec) -> dict:
    """The state audit of the cell's module on its device, once per worker."""
    key = (probe_key(spec), spec.device)
    if key not in _audits:
        subject = fresh(spec)
        seed_all(spec.seed)
        _audits[key] = run_audit(subject.module, subject.inputs, subject.sync).to_json()
    return _audits[key]


def warm_up(subject, calls: int):
    """``calls`` eager calls on the target device, as a user would before torch.compile."""
    with torch.no_grad():
        for i in range(calls):
            subject.module(*subject.inputs(i))
    subject.sync()


def eager_reference(spec: CellSpec, warmup: int) -> dict:
    """Eager outputs of the steps after the same history, once per worker."""
    key = (probe_key(spec), spec.device, warmup)
    if key in _refs:
        return _refs[key]
    try:
        subject = fresh(spec)
        seed_all(spec.seed)
        warm_up(subject, warmup)
        with torch.no_grad():
            outs = [consume(subject.module(*subject.inputs(i))) for i in range(spec.iters)]
        subject.sync()
        ref = {"outputs": outs, "error": None, "subject": subject}
    except Exception as e:
        ref = {"outputs": None, "error": describe_error(e, "eager")}
    _refs[key] = ref
    return ref


def compile_module(module, spec: CellSpec):
    """torch.compile in the cell's mode (with its CUDA graphs, or its options without them),
    through a backend that records the graphs for the compile profile."""
    backend = RecordingBackend(**compile_kwargs(spec.mode, spec.cudagraphs))
    return torch.compile(module, backend=backend), backend


def _compiled_subject(spec: CellSpec, warmup: int):
    """A fresh copy of the cell's module, seeded and warmed up as the cell says, and its
    torch.compile (subject, compiled module, recording backend)."""
    subject = fresh(spec)
    seed_all(spec.seed)
    warm_up(subject, warmup)
    compiled, backend = compile_module(subject.module, spec)
    return subject, compiled, backend


def _running_state(audit: dict) -> tuple[bool, list]:
    """Does forward change state on every call (so timing must put it back), and which
    tensors does it write in place."""
    every = [w for w in audit.get("writes", []) if w["changed"] == "every"]
    return bool(every), [w["path"] for w in every if w["kind"] == "inplace"]


def _timed(spec, audit, calls: list, inputs, grad: bool = False) -> list:
    """time_calls for ``calls`` [(callable, the module whose state it changes)], each timed
    call on the state the steps left where forward changes state on every call, and that
    state put back afterwards (for the next cell's timing)."""
    stateful, inplace = _running_state(audit)
    prep = [Checkpoint(m, inplace).restore for _, m in calls] if stateful else None
    with (torch.enable_grad if grad else torch.no_grad)():
        out = time_calls([fn for fn, _ in calls], inputs, spec.device, prep)
    for restore in prep or ():
        restore()
    return out


def _compare(obs: dict, steps, refs):
    worst = 0.0
    for s in steps:
        got, want = s.output, refs[s.index] if s.index < len(refs) else None
        if got is None or want is None:
            continue
        if got.shape == want.shape:
            worst = max(worst, float((got - want).abs().max()))
        else:
            obs["output_mismatch"] = (f"policy step {s.index}: compiled output shape "
                                      f"{tuple(got.shape)}, eager {tuple(want.shape)}")
    done = [s for s in steps if s.error is None]
    obs["max_abs_err"] = worst if done else None


def _compiled_writes(steps) -> dict:
    """path -> the calls on which the compiled module changed it, how, and the calls on which
    it put another object there (``stored``: a graph's output kept in state)."""
    out: dict = {}
    for s in steps:
        for c in s.writes:
            w = out.setdefault(c.path, {"calls": [], "kind": c.kind, "tensor": c.tensor,
                                        "stored": []})
            w["calls"].append(s.index)
            if c.kind in ("create", "rebind"):
                w["stored"].append(s.index)
    return out


def run_cell(spec: CellSpec) -> dict:
    """Observe one cell. Never raises for the probe's own failures: they are observations."""
    obs: dict = {"eager_ms": None, "compiled_ms": None, "compile_s": None, "max_abs_err": None,
                 "tolerance": None, "error": None, "steps_done": 0, "counters": {},
                 "metrics": [], "logs": [], "warmup": 0}
    try:
        audit = audit_for(spec)
    except NoRepresentative as e:  # a representative that cannot run alone: not a failure
        obs["skip"] = str(e)
        return obs
    except Exception as e:  # the module cannot even be built here
        obs["error"] = describe_error(e, "eager")
        return obs
    obs["audit"] = audit
    warmup = audit["warmup"] if spec.warmup < 0 else spec.warmup
    if spec.role == "warm-up" and not warmup:  # the module as deployed: measured already
        obs["skip"] = NOTHING_TO_WARM
        return obs
    obs["warmup"] = warmup
    ref = eager_reference(spec, warmup)
    if ref["error"]:
        obs["error"] = ref["error"]
        return obs
    refs = ref["outputs"]
    if spec.mode == "eager":
        obs["steps_done"] = spec.iters
        eager = ref["subject"].module
        (t,) = _timed(spec, audit, [(eager, eager)], ref["subject"].inputs(spec.iters - 1))
        obs["eager_ms"], obs["eager_spread"] = t.median_ms, t.to_json()
        return obs

    observe.reset()
    obs["tolerance"] = tolerance(refs)
    pattern = PATTERNS[spec.pattern]
    try:
        subject, compiled, backend = _compiled_subject(spec, warmup)
    except Exception as e:
        obs["error"] = describe_error(e, "compile")
        return obs
    calls = run_steps(pattern, compiled, subject, spec.iters, spec.cudagraphs,
                      settle=spec.iters)  # recompiling on every call: do they stop?
    steps = calls.steps
    failed = next((s for s in steps if s.error is not None), None)
    if failed is not None:
        obs["error"] = describe_error(failed.error, "compile" if failed.index == 0 else "call",
                                      failed.index)
    obs["steps_done"] = sum(1 for s in steps if s.error is None)
    if steps and steps[0].error is None:
        obs["compile_s"] = steps[0].seconds
    _compare(obs, steps, refs)
    obs["compiled_writes"] = _compiled_writes(steps)
    obs["calls"] = [{"thread": s.thread, "compiles": s.compiled,
                     "requires_grad": s.requires_grad} for s in steps]
    obs["warnings"] = calls.warnings
    if calls.recorded:
        obs["cudagraphs_recorded"] = calls.recorded
    if pattern.keep:
        obs["kept"] = {"problems": check_kept(steps), "same_object": same_objects(steps)}
    if pattern.grad:
        obs["grad"] = {"params_requiring_grad": sum(
            p.requires_grad for p in subject.module.parameters())}
    # what torch recorded about the steps, before timing adds calls of its own
    obs["recompile_limit"] = observe.recompile_limit()
    obs["counters"] = observe.counters()
    obs["metrics"] = observe.metrics()
    obs["logs"] = observe.logs()
    obs["profile"] = profile.build(backend, obs["metrics"])
    if failed is None:
        try:
            eager = ref["subject"].module
            eager_t, compiled_t = _timed(spec, audit, [(eager, eager),
                                                       (compiled, subject.module)],
                                         ref["subject"].inputs(spec.iters - 1), pattern.grad)
            obs["eager_ms"], obs["eager_spread"] = eager_t.median_ms, eager_t.to_json()
            obs["compiled_ms"], obs["compiled_spread"] = compiled_t.median_ms, \
                compiled_t.to_json()
            obs["gpu_ms"] = [eager_t.gpu_ms, compiled_t.gpu_ms] if eager_t.gpu_ms else None
        except Exception as e:
            obs["error"] = describe_error(e, "call", spec.iters)
    if failed is None and (obs["profile"].get("random_ops")) and \
            (obs.get("max_abs_err") or 0.0) > (obs.get("tolerance") or float("inf")):
        obs["fallback_random_err"] = _fallback_random_err(spec, warmup, refs, pattern)
    return obs


def _fallback_random_err(spec: CellSpec, warmup: int, refs, pattern) -> float | None:
    """The cell's calls compiled again with inductor drawing its random numbers as eager does
    (torch._inductor.config.fallback_random): the difference left, where the graph draws
    random numbers and the outputs differed. After the timing: it resets dynamo's caches."""
    try:
        torch._dynamo.reset()
        subject, compiled, _ = _compiled_subject(spec, warmup)
        with torch._inductor.config.patch(fallback_random=True):  # torch.compile is lazy:
            steps = run_steps(pattern, compiled, subject, spec.iters,  # it compiles here
                              spec.cudagraphs).steps
        if any(s.error is not None for s in steps):
            return None
        out: dict = {}
        _compare(out, steps, refs)
        return out.get("max_abs_err")
    except Exception:  # noqa: BLE001 - a check that could not run says nothing
        return None
