"""The finding vocabulary: one class, one detector, one sentence of cause, one fix.

Each class has two sides. The observation side (``detect``) reads what a worker saw: torch's
exception types, counters, compilation metrics and the messages torch logged. The text side
(``patterns``) reads a log a user already has; ``explain`` applies it. Adding a class is one
``FindingClass(...)`` entry below, plus its detector function.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import os
import re
from typing import Callable

OVERWRITE_RE = re.compile(r"accessing (gradient )?tensor output of CUDAGraphs that has been "
                          r"overwritten", re.I)
OOM_TYPES = ("torch.OutOfMemoryError", "torch.cuda.OutOfMemoryError", "builtins.MemoryError")
OOM_TEXT = re.compile(r"CUDA out of memory|can't allocate memory|OutOfMemoryError|"
                      r"CUBLAS_STATUS_ALLOC_FAILED|out of memory", re.I)
COMPILE_TYPES = (
    "torch._dynamo.exc.BackendCompilerFailed", "torch._inductor.exc.InductorError",
    "torch._dynamo.exc.TorchRuntimeError", "torch._dynamo.exc.Unsupported",
    "torch._dynamo.exc.InternalTorchDynamoError", "torch._inductor.exc.CppCompileError",
    "torch._inductor.exc.LoweringException", "torch.fx.experimental.symbolic_shapes."
    "GuardOnDataDependentSymNode", "torch._dynamo.exc.FailOnRecompileLimitHit",
    "torch._dynamo.exc.UserError",
)
RECOMPILE_LIMIT_RE = re.compile(
    r"hit config\.(recompile_limit|cache_size_limit)|(recompile_limit|cache_size_limit)\s*"
    r"(\(\d+\)\s*)?(reached|exceeded|hit)|FailOnRecompileLimitHit", re.I)
CUDAGRAPH_SKIP_RE = re.compile(r"(?:skipping|disabling) cudagraphs? (?:due to|because of)\s*(.*)",
                               re.I)
# a guard over module state: self.attr, self._buffers['x'], L['self'].attr, ...
STATE_GUARD_RE = re.compile(r"(\bself\b|L\[['\"]self['\"]\]|G\[['\"]\w+['\"]\])"
                            r"(?:\.\w+|\[['\"][\w.]+['\"]\]|\[\d+\])+")
SHAPE_GUARD_RE = re.compile(r"size mismatch|stride mismatch|\.size\(\)|\.stride\(\)|"
                            r"dimensionality|dtype mismatch|device mismatch|shape", re.I)
ATTR_RE = re.compile(r"\._(?:buffers|parameters|modules)\[['\"]([\w.]+)['\"]\]|\.(\w+)")


@dataclasses.dataclass
class Finding:
    cls: str
    detail: str
    where: str | None = None

    def to_json(self) -> dict:
        return {"class": self.cls, "detail": self.detail, "where": self.where}

    @classmethod
    def from_json(cls, d: dict) -> "Finding":
        return cls(d["class"], d.get("detail", ""), d.get("where"))


@dataclasses.dataclass
class FindingClass:
    name: str
    severity: str  # "fail" or "warn"
    cause: str  # one sentence
    fix: str  # one sentence
    rung: str  # the ladder rung to try
    patterns: tuple = ()  # text side: (regex, hint or None)
    detect: Callable | None = None  # observation side: (Observed) -> list[Finding]
    keywords: tuple = ()  # text side: lowercase literals, one of which any match contains


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


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def error_class(err: dict) -> str:
    """One error, one class: overwrite, then out-of-memory, then compile, else runtime."""
    mro = err.get("mro") or [err.get("type", "")]
    msg = err.get("message", "")
    if OVERWRITE_RE.search(msg) or OVERWRITE_RE.search(err.get("traceback", "")):
        return "cudagraph_overwrite"
    if any(t in mro for t in OOM_TYPES) or OOM_TEXT.search(_first_line(msg)):
        return "oom"
    if any(t in mro for t in COMPILE_TYPES) or any(
        m.startswith(("torch._inductor.exc.", "triton.")) for m in mro
    ):
        return "compile_error"
    return "runtime_error"


# ---------------------------------------------------------------- state mutation, located


def guard_attribute(guard: str) -> str | None:
    """The module attribute a guard checks: `self._buffers['_act_scale'] is None` -> _act_scale."""
    m = STATE_GUARD_RE.search(guard)
    if not m:
        return None
    names = [a or b for a, b in ATTR_RE.findall(m.group(0))]
    names = [n for n in names if n not in ("_buffers", "_parameters", "_modules", "__dict__")]
    return names[-1] if names else None


@functools.lru_cache(maxsize=256)
def _assignments(path: str) -> tuple:
    """(attr, line, function, first line, last line) for every `self.attr = ...` / setattr /
    register_buffer outside __init__ in a source file."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return ()
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name == "__init__":
            continue
        for node in ast.walk(fn):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                            and t.value.id == "self"):
                        found.append((t.attr, node.lineno, fn.name, fn.lineno, fn.end_lineno))
            elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                fname = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if fname in ("setattr", "register_buffer") and node.args:
                    setattr_call = fname == "setattr" and len(node.args) > 1
                    key = node.args[1] if setattr_call else node.args[0]
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        found.append((key.value, node.lineno, fn.name, fn.lineno,
                                      fn.end_lineno))
    return tuple(found)


def _stack_files(reason: str) -> list[tuple[str, int]]:
    return [(f, int(n)) for f, n in re.findall(r'File "([^"]+)", line (\d+)', reason)]


@functools.lru_cache(maxsize=1)
def _torch_dir() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("torch")  # where torch is installed; torch not imported
    return os.path.dirname(spec.origin) + os.sep if spec and spec.origin else None


def _is_torch_file(path: str) -> bool:
    """A frame in torch itself (not the user's code)."""
    root = _torch_dir()
    return bool(root) and os.path.abspath(path).startswith(root)


def locate_assignment(attr: str, reason: str, co_filename: str | None,
                      co_firstlineno: int | None = None) -> str | None:
    """file:line where the user's code assigns ``attr``: in the function the recompile's user
    stack (or the compiled frame) points at, else in any forward, else anywhere."""
    user_frames = [(f, n) for f, n in _stack_files(reason) if not _is_torch_file(f)]
    anchors = list(user_frames) + ([(co_filename, co_firstlineno)] if co_filename else [])
    files = list(dict.fromkeys(f for f, _ in anchors))
    for path in files:
        hits = [h for h in _assignments(path) if h[0] == attr]
        if not hits:
            continue
        lines = [n for f, n in anchors if f == path and n]

        def rank(h, lines=lines):
            _, line, fn, first, last = h
            inside = any(first <= n <= last for n in lines)
            return (not inside, fn != "forward", line)

        return f"{_short(path)}:{min(hits, key=rank)[1]}"
    if user_frames:
        return f"{_short(user_frames[-1][0])}:{user_frames[-1][1]}"
    return None


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else path
    except ValueError:
        return path


def _guard_line(reason: str) -> str:
    """The guard expression of a recompile reason (first line, frame id and comment removed)."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    first = re.sub(r"^\s*-?\s*\d+/\d+:\s*", "", first)
    return first.split("  #")[0].strip()


# ---------------------------------------------------------------- observation detectors


def _detect_error(cls_name):
    def detect(o: Observed):
        err = o.error
        if not err or error_class(err) != cls_name:
            return []
        where = None
        m = re.findall(r'File "([^"]+)", line (\d+)', err.get("traceback", ""))
        user = [(f, n) for f, n in m if not _is_torch_file(f) and "compilecheck" not in f]
        if user:
            where = f"{_short(user[-1][0])}:{user[-1][1]}"
        step = err.get("step")
        at = f" (policy step {step})" if step is not None else ""
        return [Finding(cls_name, f"{err['type'].rsplit('.', 1)[-1]}{at}: "
                                  f"{_first_line(err.get('message', ''))}", where)]
    return detect


def _detect_state_mutation(o: Observed):
    out, seen = [], set()
    for m in o.metrics:
        reason = m.get("recompile_reason") or ""
        guard = _guard_line(reason)
        attr = guard_attribute(guard)
        if not attr or SHAPE_GUARD_RE.search(guard) or attr in seen:
            continue
        seen.add(attr)
        where = locate_assignment(attr, reason, m.get("co_filename"), m.get("co_firstlineno"))
        out.append(Finding(
            "state_mutation",
            f"module state `{attr}` is assigned inside the compiled region: dynamo replays "
            f"the assignment after the graph and recompiles on the guard `{guard}`. Under "
            "CUDA graphs the assigned tensor lives in the graph's memory pool and the next "
            "call fails with 'accessing tensor output of CUDAGraphs that has been overwritten "
            "by a subsequent run'.", where))
    return out


def _detect_recompile(o: Observed):
    out = []
    for m in o.metrics:
        reason = m.get("recompile_reason") or ""
        guard = _guard_line(reason)
        if not guard or (guard_attribute(guard) and not SHAPE_GUARD_RE.search(guard)):
            continue
        out.append(Finding("recompile", f"recompiled {m.get('co_name')}: {guard}",
                           f"{_short(m.get('co_filename') or '?')}:{m.get('co_firstlineno')}"))
    return out


def _detect_recompile_limit(o: Observed):
    texts = [line for line in o.logs if RECOMPILE_LIMIT_RE.search(line)]
    texts += [m.get("fail_reason") or "" for m in o.metrics
              if RECOMPILE_LIMIT_RE.search(m.get("fail_reason") or "")]
    return [Finding("recompile_limit", _first_line(texts[0]))] if texts else []


def _detect_graph_break(o: Observed):
    breaks = o.counters.get("graph_break") or {}
    total = sum(breaks.values())
    if not total:
        return []
    reasons = "; ".join(_first_line(k) for k in list(breaks)[:3])
    return [Finding("graph_break", f"{total} graph break(s): {reasons}")]


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
            if m and not _is_torch_file(m.group(1)) and "compilecheck" not in m.group(1):
                where = f"{_short(m.group(1))}:{m.group(2)}"
                detail += f" in {m.group(3)}()"
                break
    return [Finding("crash", detail, where)]


def _detect_timeout(o: Observed):
    if o.outcome != "timeout":
        return []
    return [Finding("timeout", f"the cell gave {o.detail}; the worker was killed with its "
                               "children")]


# ---------------------------------------------------------------- the vocabulary

CLASSES: dict[str, FindingClass] = {c.name: c for c in (
    FindingClass(
        "cudagraph_overwrite", "fail",
        "A tensor produced inside a CUDA-graph replay (here: module state assigned in forward) "
        "was read after the next replay overwrote its memory.",
        "Compute the state outside the compiled region (calibrate before compiling), or "
        "compile without CUDA graphs (max-autotune-no-cudagraphs).",
        "calibrated",
        ((OVERWRITE_RE, None),),
        _detect_error("cudagraph_overwrite"),
        keywords=("overwritten",)),
    FindingClass(
        "oom", "fail",
        "The cell ran out of memory (device or host).",
        "Use a smaller shape or batch, or free memory held by CUDA-graph pools (fewer "
        "distinct shapes, no reduce-overhead on a full card).",
        "abits16",
        ((OOM_TEXT, None),),
        _detect_error("oom"),
        keywords=("memory", "outofmemory", "cublas_status_alloc")),
    FindingClass(
        "crash", "fail",
        "The process died (signal or exit) instead of raising an error.",
        "Run the cell alone with TORCH_LOGS=+dynamo,+inductor to see where; compile less "
        "(max-autotune-no-cudagraphs) or fall back to eager.",
        "no-compile",
        ((re.compile(r"Segmentation fault|core dumped|Fatal Python error|\bSIGSEGV\b|"
                     r"\bSIGABRT\b|terminate called after|worker died", re.I), None),),
        _detect_crash,
        keywords=("segmentation", "core dumped", "fatal python", "sigsegv", "sigabrt",
                  "terminate called", "worker died")),
    FindingClass(
        "timeout", "fail",
        "The cell did not finish within its time limit (compile or a call hung).",
        "Raise --timeout if the compile is only slow (max-autotune tunes for minutes); "
        "otherwise compile a cheaper mode.",
        "no-compile",
        ((re.compile(r"\btimed out\b|TimeoutError|\btimeout\b.*(exceeded|expired)", re.I), None),),
        _detect_timeout,
        keywords=("timed out", "timeouterror", "timeout")),
    FindingClass(
        "compile_error", "fail",
        "torch.compile failed while tracing or generating code for the graph.",
        "Read the first error line; TORCHDYNAMO_SUPPRESS_ERRORS=1 falls back to eager for "
        "compile-time failures only.",
        "suppress-errors",
        ((re.compile(r"BackendCompilerFailed|InductorError|CppCompileError|LoweringException|"
                     r"GuardOnDataDependentSymNode|InternalTorchDynamoError|"
                     r"Could not guard on data-dependent|torch\._dynamo\.exc\.UserError|"
                     r"torch\._dynamo\.exc\.(Unsupported|TorchRuntimeError)|"
                     r"ptxas (fatal|error)|CompilationError|triton.*(error|failed)", re.I), None),),
        _detect_error("compile_error"),
        keywords=("backendcompilerfailed", "inductorerror", "cppcompileerror",
                  "loweringexception", "guardondatadependent", "internaltorchdynamoerror",
                  "data-dependent", "usererror", "torch._dynamo.exc.", "ptxas",
                  "compilationerror", "triton")),
    FindingClass(
        "state_mutation", "warn",
        "Module state is assigned or replaced inside the compiled region; under CUDA graphs "
        "this becomes the overwrite error.",
        "Compute the state before compiling (an explicit calibration pass) so forward only "
        "reads frozen buffers.",
        "calibrated",
        ((re.compile(r"(guard failure|^\s*-\s*\d+/\d+:|triggered by).*?"
                     r"(\bself\b|L\[['\"]self['\"]\])(\.\w+|\[['\"][\w.]+['\"]\])+", re.I),
          "recompile on a guard over module state"),),
        _detect_state_mutation,
        keywords=("self",)),
    FindingClass(
        "numeric_mismatch", "fail",
        "The compiled module computes something different from eager.",
        "Report it with the failing cell; compile a different mode, or run eager.",
        "no-compile",
        ((re.compile(r"max abs (diff|err)|allclose\S*\s*(=|:|is|returned)?\s*False|"
                     r"Mismatched elements|accuracy (check )?fail|Accuracy failed|"
                     r"(tensors?|Tensor-likes|Scalars) (are|is) not close|fail_accuracy", re.I),
          None),),
        _detect_numeric_mismatch,
        keywords=("abs diff", "abs err", "allclose", "mismatched elements", "accuracy",
                  "not close", "fail_accuracy")),
    FindingClass(
        "recompile_limit", "warn",
        "The function recompiled until torch's recompile limit and now runs in eager.",
        "Remove what changes each call (state, shapes); raising "
        "torch._dynamo.config.recompile_limit only hides it.",
        "calibrated",
        ((RECOMPILE_LIMIT_RE, None),),
        _detect_recompile_limit,
        keywords=("recompile_limit", "cache_size_limit", "failonrecompilelimithit")),
    FindingClass(
        "runtime_error", "fail",
        "A call of the compiled module raised an error.",
        "Read the error; it is not suppressed by TORCHDYNAMO_SUPPRESS_ERRORS.",
        "no-compile",
        ((re.compile(r"quantile\(\) input tensor is too large"),
          "torch.quantile over more than 2**24 values: calibrate over fewer tokens "
          "(subsample) or use kthvalue"),
         (re.compile(r"^(?:[\w.]+\.)?(RuntimeError|ValueError|TypeError|AssertionError|"
                     r"IndexError|KeyError|AttributeError|CUDA error)\b:?\s*\S"), None)),
        _detect_error("runtime_error"),
        keywords=("quantile", "error")),
    FindingClass(
        "cudagraph_skipped", "warn",
        "inductor ran (part of) the graph without CUDA graphs; correct but slower.",
        "Remove the reason torch names (mutated inputs, CPU tensors, dynamic shapes), or "
        "accept the slower path.",
        "full-fix",
        ((CUDAGRAPH_SKIP_RE, None),),
        _detect_cudagraph_skipped,
        keywords=("cudagraph",)),
    FindingClass(
        "graph_break", "warn",
        "dynamo split the function into several graphs around code it cannot trace.",
        "Move the untraceable code out of forward, or see TORCH_LOGS=graph_breaks.",
        "full-fix",
        ((re.compile(r"\bgraph break\b|Graph Break Reason|__graph_breaks", re.I), None),),
        _detect_graph_break,
        keywords=("graph break", "__graph_breaks")),
    FindingClass(
        "recompile", "warn",
        "dynamo compiled the function again because a guard failed (shapes, strides, types).",
        "Mark the dimension dynamic or keep the inputs' shapes fixed.",
        "full-fix",
        ((re.compile(r"Recompiling function|guard failure|size mismatch at index", re.I),
          None),),
        _detect_recompile,
        keywords=("recompiling", "guard failure", "size mismatch")),
)}

# Root cause first: an explanation's primary finding is the first class here that it found.
RANK = list(CLASSES)


def detect_all(o: Observed) -> list[Finding]:
    out = []
    for c in CLASSES.values():
        out.extend(c.detect(o))
    return out


def status_of(findings: list[Finding]) -> str:
    sev = {CLASSES[f.cls].severity for f in findings if f.cls in CLASSES}
    return "fail" if "fail" in sev else "warn" if "warn" in sev else "pass"
