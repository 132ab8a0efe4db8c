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
from .consequences import recompiled, state_findings, unexplained_recompiles
from ..vocab.messages import (COMPILE_TYPES, CUDAGRAPH_SKIP_RE, HIDES_FAILURE_RE, OOM_TEXT,
                              OOM_TYPES, OVERWRITE_RE, RECOMPILE_LIMIT_RE, SHAPE_GUARD_RE,
                              first_line, structured_error, torch_advice, torch_cause)


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
        kind = err["type"].rsplit(".", 1)[-1]
        message = err.get("message", "")
        if cls_name != "compile_error":
            at = f" (policy step {step})" if step is not None else ""
            return [Finding(cls_name, f"{kind}{at}: {first_line(message)}",
                            _user_frame(err.get("traceback", "")))]
        # torch's cause in one line and its hint (2.7+ explains its errors), then the type
        detail = torch_cause(message).rstrip(".") + "."
        hints = [h for h in torch_advice(message)
                 if not HIDES_FAILURE_RE.search(h) and h not in detail]
        if hints:
            detail += f" torch's hint: {hints[0]}"
        entry = gbregistry.of_error(structured_error(message))
        if entry:
            detail += f" [{entry['code']} {entry['type']} ({entry['url']})]"
        detail += f" ({kind}, policy step {step})" if step is not None else f" ({kind})"
        return [Finding(cls_name, detail, _user_frame(err.get("traceback", "")),
                        code=entry["code"] if entry else None)]
    return detect


def _detect_state_mutation(o: Observed):
    return state_findings(o.obs)


def _detect_recompile(o: Observed):
    """Every recompile no state write accounts for, with its guard: one finding per frame and
    guard (its numbers aside: ``len(x) == 3`` and ``len(x) == 4`` are one guard)."""
    groups: dict[tuple, list] = {}
    for r in unexplained_recompiles(o.obs):
        groups.setdefault((r.function, re.sub(r"\d+", "#", r.guard)), []).append(r)
    out = []
    for (function, _), rs in groups.items():
        path, line = rs[0].code or (None, None)
        where = _user_frame(rs[0].reason) or (
            f"{short_path(path)}:{line}" if path and is_module_code(path) else None)
        what = "input" if rs[0].path and rs[0].path.startswith("args") else None
        detail = f"{function or 'the compiled function'}() {recompiled(rs)}"
        if what or SHAPE_GUARD_RE.search(rs[0].guard):
            detail += ": the inputs' shapes, dtypes or objects changed between calls"
        out.append(Finding("recompile", detail, where))
    return out


def _detect_recompile_limit(o: Observed):
    texts = [line for line in o.logs if RECOMPILE_LIMIT_RE.search(line)]
    texts += [m.get("fail_reason") or "" for m in o.metrics
              if RECOMPILE_LIMIT_RE.search(m.get("fail_reason") or "")]
    if not texts:
        return []
    entry = gbregistry.recompile_limit()  # torch raises the limit as a break: GB0039 in 2.13
    code = f" [{entry['code']} {entry['type']} ({entry['url']})]" if entry else ""
    return [Finding("recompile_limit", first_line(texts[0]) + code,
                    code=entry["code"] if entry else None)]


def graph_breaks(counters: dict) -> dict:
    """reason -> count of every graph break dynamo counted: torch 2.13 counts some under
    ``graph_break`` and others (a data-dependent branch, a frame it gave up on) only under
    ``unimplemented``; the same reason in both is counted once."""
    breaks = dict(counters.get("graph_break") or {})
    seen = {first_line(k) for k in breaks}
    for k, v in (counters.get("unimplemented") or {}).items():
        if first_line(k) not in seen:
            breaks[k] = v
    return breaks


def _detect_graph_break(o: Observed):
    """dynamo's own count of graph breaks, each reason with its entry in torch's graph-break
    registry (code, type, page) where the installed torch has one; a compiled cell where
    dynamo made no graph at all ran forward eagerly, and says so."""
    breaks = graph_breaks(o.counters)
    total = sum(breaks.values())
    graphs = (o.counters.get("stats") or {}).get("unique_graphs", 0)
    if not total or o.obs.get("error"):
        return []
    reasons = []
    for key in list(breaks)[:3]:
        entry = gbregistry.summary(key)
        reasons.append(f"{first_line(key)}" + (f" [{entry}]" if entry else ""))
    at = [m.group(1) for m in map(_BREAK_AT.search, o.logs) if m]
    at += [f"{p}:{n}" for key in breaks for p, n in _FRAME_RE.findall(key)]
    where = next((f"{short_path(p)}:{n}" for p, n in (a.rsplit(":", 1) for a in at)
                  if is_user_file(p)), None)
    if not graphs and getattr(o.spec, "mode", "eager") != "eager":
        return [Finding("graph_break", "dynamo compiled no graph: forward ran eagerly on "
                        "every call, so torch.compile changes nothing for this module (its "
                        "speed and CUDA graphs are eager's): " + "; ".join(reasons), where)]
    return [Finding("graph_break", f"{total} graph break(s): {'; '.join(reasons)}", where)]


_FRAME_RE = re.compile(r'File "([^"]+)", line (\d+)')
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


def _mismatch(o: Observed) -> tuple | None:
    """(error, tolerance, the error left with inductor drawing as eager does) of a compiled
    output beyond its tolerance, or None."""
    err, tol = o.obs.get("max_abs_err"), o.obs.get("tolerance")
    if o.obs.get("output_mismatch") or err is None or tol is None or err <= tol:
        return None
    return err, tol, o.obs.get("fallback_random_err")


def _detect_numeric_mismatch(o: Observed):
    if o.obs.get("output_mismatch"):
        return [Finding("numeric_mismatch", o.obs["output_mismatch"])]
    m = _mismatch(o)
    if m is None or (m[2] is not None and m[2] <= m[1]):
        return []  # none, or all of it the random stream (random_stream)
    left = f"; with fallback_random the same calls still differ by {m[2]:.3g}, so the " \
        "random stream is not all of it" if m[2] is not None else ""
    return [Finding("numeric_mismatch",
                    f"compiled output differs from eager by {m[0]:.3g} (tolerance {m[1]:.3g})"
                    + (left or _drawn(o.obs)), _drawn_where(o.obs))]


def _detect_random_stream(o: Observed):
    m = _mismatch(o)
    if m is None or m[2] is None or m[2] > m[1]:
        return []
    ops = _named(_draws(o.obs))
    return [Finding("random_stream",
                    f"compiled output differs from eager by {m[0]:.3g} (tolerance {m[1]:.3g}), "
                    f"all of it from the random numbers the graph draws ({ops}): compiled "
                    "again with torch._inductor.config.fallback_random = True (inductor "
                    f"draws as eager does), the same calls differ by {m[2]:.3g}. Where any "
                    "draw is as good as another (dropout, augmentation, sampling noise) "
                    "nothing is wrong; to compare with eager, set fallback_random or pass the "
                    "random tensors in", _drawn_where(o.obs))]


def _draws(obs: dict) -> list:
    """The random draws in the compiled graphs (the compile profile's ``random_ops``)."""
    return ((obs.get("profile") or {}).get("random_ops")) or []


def _named(drawn: list) -> str:
    """The first three draws, each with its line."""
    return ", ".join(f"`{d['op']}`" + (f" at {d['where']}" if d["where"] else "")
                     for d in drawn[:3])


def _drawn(obs: dict) -> str:
    """Where the compiled graph draws random numbers, the likely cause and the check."""
    drawn = _draws(obs)
    if not drawn:
        return ""
    ops = _named(drawn) + (f" and {len(drawn) - 3} more" if len(drawn) > 3 else "")
    return (f", and the compiled graph draws random numbers ({ops}): inductor can draw them "
            "from its own random stream instead of eager's, and then what depends on them "
            "differs with no bug anywhere. The check: `torch._inductor.config.fallback_random = True` "
            "(inductor then draws as eager does): if the difference goes, that was all of it. "
            "A random initialisation is best run before compiling (one eager call, the "
            "warm-up rung)")


def _drawn_where(obs: dict) -> str | None:
    return next((d["where"] for d in _draws(obs) if d["where"]), None)


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
    "random_stream": _detect_random_stream,
}
assert set(DETECTORS) == set(CLASSES), "every class has a detector"


def detect_all(o: Observed) -> list[Finding]:
    out = []
    for name in CLASSES:
        out.extend(DETECTORS[name](o))
    return out
