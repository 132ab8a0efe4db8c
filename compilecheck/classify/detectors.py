"""The observation side of the vocabulary: one detector per finding class, reading what a
worker saw (torch's exception types, counters, compilation metrics, the state audit, the
messages torch logged). ``DETECTORS`` maps each class to its detector; the state, call-pattern
and slow-compile detectors live in classify/consequences.py, classify/callpattern_checks.py and classify/slowcompile.py."""
from __future__ import annotations

import dataclasses
import re

from ..vocab.findings import CLASSES, Finding
from .slowcompile import slow_compile
from ..observe.sources import is_module_code, is_user_file, short_path
from . import callpattern_checks as callchecks
from . import gbregistry
from .consequences import explained_guards, state_findings
from ..vocab.messages import (COMPILE_TYPES, CUDAGRAPH_SKIP_RE, OBJ_ID_GUARD_RE, OOM_TEXT, OOM_TYPES,
                       OVERWRITE_RE, RECOMPILE_LIMIT_RE, SHAPE_GUARD_RE, first_line,
                       guard_attribute, guard_line)


@dataclasses.dataclass
class Observed:
    """What one cell produced, as the detectors see it."""

    spec: object  # CellSpec
    outcome: str  # ok | crash | timeout | interrupted | skip
    obs: dict
    detail: str = ""
    stderr_tail: str = ""

    @property
    def error(self) -> dict | None:
        return self.obs.get("error") or self.obs.get("internal_error")

    @property
    def counters(self) -> dict:
        return self.obs.get("counters") or {}

    @property
    def metrics(self) -> list:
        return self.obs.get("metrics") or []

    @property
    def logs(self) -> list:
        return self.obs.get("logs") or []


def error_class(err: dict) -> str:
    """One error, one class: overwrite, then out-of-memory, then compile, else runtime."""
    mro = err.get("mro") or [err.get("type", "")]
    msg = err.get("message", "")
    if OVERWRITE_RE.search(msg) or OVERWRITE_RE.search(err.get("traceback", "")):
        return "cudagraph_overwrite"
    if any(t in mro for t in OOM_TYPES) or OOM_TEXT.search(first_line(msg)):
        return "oom"
    if any(t in mro for t in COMPILE_TYPES) or any(
        m.startswith(("torch._inductor.exc.", "triton.")) for m in mro
    ):
        return "compile_error"
    return "runtime_error"


# ---------------------------------------------------------------- source locations


def _user_frame(traceback_text: str) -> str | None:
    m = re.findall(r'File "([^"]+)", line (\d+)', traceback_text or "")
    user = [(f, n) for f, n in m if is_user_file(f)]
    return f"{short_path(user[-1][0])}:{user[-1][1]}" if user else None


# ---------------------------------------------------------------- detectors


def _detect_error(cls_name):
    def detect(o: Observed):
        err = o.error
        if not err or error_class(err) != cls_name:
            return []
        step = err.get("step")
        at = f" (policy step {step})" if step is not None else ""
        return [Finding(cls_name, f"{err['type'].rsplit('.', 1)[-1]}{at}: "
                                  f"{first_line(err.get('message', ''))}",
                        _user_frame(err.get("traceback", "")))]
    return detect


def _state_guard(guard: str) -> str | None:
    """The module attribute a recompile's guard is about, unless the guard is on shapes or
    on an object's identity (which says nothing about the object's state)."""
    if not guard or SHAPE_GUARD_RE.search(guard) or OBJ_ID_GUARD_RE.search(guard):
        return None
    return guard_attribute(guard)


def _detect_state_mutation(o: Observed):
    if o.obs.get("audit") and not o.obs["audit"].get("error"):
        return state_findings(o.obs)
    # no audit (it failed): the first guard dynamo names is all there is to go on
    out, seen = [], set()
    for m in o.metrics:
        reason = m.get("recompile_reason") or ""
        guard = guard_line(reason)
        attr = _state_guard(guard)
        if not attr or attr in seen:
            continue
        seen.add(attr)
        out.append(Finding(
            "state_mutation",
            f"module state `{attr}` changes inside the compiled region: dynamo recompiled on "
            f"the guard `{guard}` (the first guard that failed; the state audit did not run)."
            " If it holds a tensor stored in forward and read later, CUDA graphs turn it into "
            "'accessing tensor output of CUDAGraphs that has been overwritten'.",
            _user_frame(reason), attr))
    return out


def _detect_recompile(o: Observed):
    explained = explained_guards(o.obs)
    out = []
    for m in o.metrics:
        reason = m.get("recompile_reason") or ""
        guard = guard_line(reason)
        attr = _state_guard(guard)
        if not guard or (attr and (attr in explained or not o.obs.get("audit"))):
            continue
        path = m.get("co_filename") or ""
        where = f"{short_path(path)}:{m.get('co_firstlineno')}" if path and \
            is_module_code(path) else _user_frame(m.get("recompile_reason") or "")
        out.append(Finding("recompile", f"recompiled {m.get('co_name')}: {guard}", where))
    return out


def _detect_recompile_limit(o: Observed):
    texts = [line for line in o.logs if RECOMPILE_LIMIT_RE.search(line)]
    texts += [m.get("fail_reason") or "" for m in o.metrics
              if RECOMPILE_LIMIT_RE.search(m.get("fail_reason") or "")]
    return [Finding("recompile_limit", first_line(texts[0]))] if texts else []


def _detect_graph_break(o: Observed):
    """dynamo's own count of graph breaks, each reason with its entry in torch's graph-break
    registry (code, type, page) where the installed torch has one."""
    breaks = o.counters.get("graph_break") or {}
    total = sum(breaks.values())
    if not total:
        return []
    reasons = []
    for key in list(breaks)[:3]:
        entry = gbregistry.summary(key)
        reasons.append(f"{first_line(key)}" + (f" [{entry}]" if entry else ""))
    at = [m.group(1) for m in map(_BREAK_AT.search, o.logs) if m]
    where = next((f"{short_path(p)}:{n}" for p, n in (a.rsplit(":", 1) for a in at)
                  if is_user_file(p)), None)
    return [Finding("graph_break", f"{total} graph break(s): {'; '.join(reasons)}", where)]


_BREAK_AT = re.compile(r"Graph break in user code at (\S+:\d+)")


def _detect_cudagraph_skipped(o: Observed):
    count = (o.counters.get("inductor") or {}).get("cudagraph_skips", 0)
    if not count or not getattr(o.spec, "cudagraphs", False):
        return []
    reasons = [m.get("cudagraph_skip_reason") for m in o.metrics if m.get("cudagraph_skip_reason")]
    reasons += [CUDAGRAPH_SKIP_RE.search(line).group(0) for line in o.logs
                if CUDAGRAPH_SKIP_RE.search(line)]
    why = reasons[0] if reasons else "no reason logged (graph partitioning can skip silently)"
    return [Finding("cudagraph_skipped", f"{count} graph(s) ran without CUDA graphs: {why}")]


def _detect_numeric_mismatch(o: Observed):
    if o.obs.get("output_mismatch"):
        return [Finding("numeric_mismatch", o.obs["output_mismatch"])]
    err, tol = o.obs.get("max_abs_err"), o.obs.get("tolerance")
    if err is None or tol is None or err <= tol:
        return []
    return [Finding("numeric_mismatch",
                    f"compiled output differs from eager by {err:.3g} (tolerance {tol:.3g})")]


def _detect_crash(o: Observed):
    if o.outcome != "crash":
        return []
    lines = o.stderr_tail.splitlines()
    fatal = [i for i, line in enumerate(lines) if line.startswith("Fatal Python error")]
    detail, where = f"the worker died ({o.detail})", None
    if fatal:  # faulthandler's report: the error, then the stack, most recent call first
        detail += f": {lines[fatal[-1]].strip()}"
        for line in lines[fatal[-1]:]:
            m = re.search(r'File "([^"]+)", line (\d+) in (\S+)', line)
            if m and is_user_file(m.group(1)):
                where = f"{short_path(m.group(1))}:{m.group(2)}"
                detail += f" in {m.group(3)}()"
                break
    return [Finding("crash", detail, where)]


def _detect_timeout(o: Observed):
    """Out of time: what the worker last said it was doing (run/phase.py), never a verdict on
    the module (the ladder leaves the rung undecided)."""
    if o.outcome != "timeout":
        return []
    from ..run.phase import describe

    given = o.obs.get("timeout_s")
    head = f"did not finish in {given:.0f} s" if given else f"gave {o.detail}"
    return [Finding("timeout", f"{head}, {describe(o.obs.get('timed_out'))}{NOT_A_VERDICT} "
                               "(a larger --timeout decides it); the worker was killed with "
                               "its children")]


NOT_A_VERDICT = "; running out of time is not a verdict"


DETECTORS = {
    "cudagraph_overwrite": _detect_error("cudagraph_overwrite"),
    "kept_output_overwritten": callchecks.kept_outputs,
    "oom": _detect_error("oom"),
    "crash": _detect_crash,
    "timeout": _detect_timeout,
    "compile_error": _detect_error("compile_error"),
    "state_mutation": _detect_state_mutation,
    "numeric_mismatch": _detect_numeric_mismatch,
    "recompile_limit": _detect_recompile_limit,
    "runtime_error": _detect_error("runtime_error"),
    "cudagraph_never_recorded": callchecks.never_recorded,
    "cudagraph_threads": callchecks.threads,
    "cudagraph_skipped": _detect_cudagraph_skipped,
    "slow_compile": lambda o: slow_compile(o.obs, o.spec.device, o.spec.mode),
    "graph_break": _detect_graph_break,
    "recompile": _detect_recompile,
}
assert set(DETECTORS) == set(CLASSES), "every class has a detector"


def detect_all(o: Observed) -> list[Finding]:
    out = []
    for name in CLASSES:
        out.extend(DETECTORS[name](o))
    return out
