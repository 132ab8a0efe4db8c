"""torch's own wordings and exception types, shared by the detectors and by explain."""
from __future__ import annotations

import functools
import re

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
_RECOMPILE_LIMIT_2_X = (
    r"hit config\.(recompile_limit|cache_size_limit)|(recompile_limit|cache_size_limit)\s*"
    r"(\(\d+\)\s*)?(reached|exceeded|hit)|FailOnRecompileLimitHit")
CUDAGRAPH_SKIP_RE = re.compile(r"(?:skipping|disabling) cudagraphs? (?:due to|because of)\s*(.*)",
                               re.I)
# torch < 2.13: a cudagraph tree is set up per thread-local state; a first call from another
# thread fails an assertion in cudagraph_trees.get_obj
THREAD_TLS_RE = re.compile(r"_is_key_in_tls|cudagraph_trees\.py.*\bget_obj\b", re.S)
# a guard over module state: self.attr, self._buffers['x'], L['self'].attr, ...
STATE_GUARD_RE = re.compile(r"(\bself\b|L\[['\"]self['\"]\]|G\[['\"]\w+['\"]\])"
                            r"(?:\.\w+|\[['\"][\w.]+['\"]\]|\[\d+\])+")
SHAPE_GUARD_RE = re.compile(r"size mismatch|stride mismatch|\.size\(\)|\.stride\(\)|"
                            r"dimensionality|dtype mismatch|device mismatch|shape", re.I)
# a guard on an object's identity: not a mutation of its state
OBJ_ID_GUARD_RE = re.compile(r"___check_obj_id|___check_type_id|ID_MATCH|TYPE_MATCH")
ATTR_RE = re.compile(r"\._(?:buffers|parameters|modules)\[['\"]([\w.]+)['\"]\]|\.(\w+)")


HASATTR_GUARD_RE = re.compile(r"hasattr\((?:self|L\[['\"]self['\"]\][^,]*),\s*['\"](\w+)['\"]\)")


def guard_attribute(guard: str) -> str | None:
    """The module attribute a guard checks: `self._buffers['_act_scale'] is None` -> _act_scale,
    `not hasattr(self, '_cache')` -> _cache."""
    m = HASATTR_GUARD_RE.search(guard)
    if m:
        return m.group(1)
    m = STATE_GUARD_RE.search(guard)
    if not m:
        return None
    names = [a or b for a, b in ATTR_RE.findall(m.group(0))]
    names = [n for n in names if n not in ("_buffers", "_parameters", "_modules", "__dict__")]
    return names[-1] if names else None


def guard_line(reason: str) -> str:
    """The guard expression of a recompile reason (first line, frame id and comment removed)."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    first = re.sub(r"^\s*-?\s*\d+/\d+:\s*", "", first)
    return first.split("  #")[0].strip()


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


# --- issue 15: the wordings of older and newer torches, and of partial pastes --------------

# cudagraph trees' pending-backward warning in every wording it has had: 2.0-2.12 "Unable to
# hit fast path of CUDAGraphs because of pending, uninvoked backwards" (and "Unable to end
# warm up phase ..." in 2.1), 2.13 "... because outputs from a previous step still require
# backward"
PENDING_BACKWARD_RE = re.compile(
    r"Unable to (?:hit fast path|end warm ?up phase) of CUDAGraphs because (?:of pending,? "
    r"uninvoked backwards|outputs from a previous step still require backward)|"
    # cudagraph trees' own flag for it (cudagraph_trees.py), quoted by maintainers
    r"\brunning_forwards_with_pending_backwards\b", re.I)
# the recompile limit, from torchdynamo 2022 ("hit recompilation cache limit (64) for
# function") to 2.13 ("hit config.recompile_limit (8)"), its exception names, and the one line
# only that warning prints ("   last reason: 0/7: ...", convert_frame.py), which is what a
# paste often keeps
RECOMPILE_LIMIT_RE = re.compile(
    _RECOMPILE_LIMIT_2_X + r"|hit recompilation cache limit|RecompileLimitExceeded|"
    r"CacheLimitExceeded|(?:cache_size_limit|recompile_limit|cache size limit) reached|"
    r"^\s*last reason:\s*\d+/\d+:", re.I)
# torch's graph-break documentation page for a GB code (torch/_dynamo/exc.py,
# get_gbid_documentation_link)
GB_LINK_RE = re.compile(r"compile-graph-break-site/gb/gb(\d{4})\.html")


# --- issue 28: torch's structured error, its cause and advice, and what a guard is about ----

# exc.format_graph_break_message (2.7 and later): "<Exception>: <break type>", then
# "  Explanation: ...", "  Hint: ..." (each may go on over lines indented four spaces),
# "  Developer debug context: ...", and from 2.8 the page of the break's registry code
_STRUCT_KEY = re.compile(r"^\s*(Explanation|Hint|Developer debug context):\s?(.*)$")
_STRUCT_END = re.compile(r"^\s*(?:For more details about this graph break|from user code:|"
                         r"Set TORCHDYNAMO_VERBOSE|Traceback \(most recent|The above exception|"
                         r"During handling of|File \"|Graph break in user code)")
_EXC_HEAD = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)*(?P<type>[A-Z]\w*)\s*:\s*(?P<rest>\S.*)$")
# a fix that only hides the failure: it falls back to eager where compiling fails
HIDES_FAILURE_RE = re.compile(r"suppress_errors|SUPPRESS_ERRORS|falls? ?back to eager|"
                              r"increas\w* [^.]{0,40}(?:recompile_limit|cache_size_limit|"
                              r"limit_type)", re.I)
# a sentence of torch's that tells what to do
_ADVICE = re.compile(r"^(?:Please\s+(?!file\b|report\b|open\b)\w+|Use\b|Try\b|Consider\b|"
                     r"To (?:fix|avoid|resolve|work around)\b|You (?:can|should|may|need|must)\b|"
                     r"Set\b|Add\b|Register\b|Mark\b|Wrap\b|Move\b|Remove\b|Avoid\b|Call\b|"
                     r"Apply\b|Make sure\b|Ensure\b)")
_REPORT_ONLY = re.compile(r"^Please (?:report|file|open) an? (?:issue|bug)\b[^.]*\.?$", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")
# the error a wrapper names inside its message: fake-tensor and FX-node failures
# ("got RuntimeError('...')"), a backend that raised ("backend='inductor' raised:\nX: ...")
_INNER = (re.compile(r"\bgot (?P<type>[A-Z]\w*)\((?P<q>['\"])(?P<msg>.*?)(?P=q)\)", re.S),
          re.compile(r"\braised:\s*\n?\s*(?P<type>[A-Z][\w.]*)\s*:\s*(?P<msg>[^\n]+)"))


def structured_error(text: str) -> dict | None:
    """torch's structured error in a message or log excerpt: {"type" (the exception, or
    None), "gb_type", "explanation", "hints", "context", "code"}; None without an
    `Explanation:` line."""
    lines = (text or "").splitlines()
    start = next((i for i, line in enumerate(lines)
                  if _STRUCT_KEY.match(line) and _STRUCT_KEY.match(line).group(1) ==
                  "Explanation"), None)
    if start is None:
        return None
    head = next((lines[i].strip() for i in range(start - 1, -1, -1) if lines[i].strip()), "")
    m = _EXC_HEAD.match(head)
    out = {"type": m.group("type") if m else None,
           "gb_type": (m.group("rest") if m else head).strip(),
           "explanation": "", "hints": [], "context": "", "code": None}
    parts: list = []  # [key, [lines]]
    for line in lines[start:]:
        if _STRUCT_END.match(line):
            break
        k = _STRUCT_KEY.match(line)
        if k:
            parts.append([k.group(1), [k.group(2).strip()]])
        elif not line.strip():
            if parts and parts[-1][0] != "end":
                parts.append(["end", []])
        elif parts and parts[-1][0] != "end":
            parts[-1][1].append(line.strip())
    for key, body in parts:
        joined = " ".join(p for p in body if p)
        if key == "Explanation" and not out["explanation"]:
            out["explanation"] = joined
        elif key == "Hint" and joined:
            out["hints"].append(joined)
        elif key == "Developer debug context":
            out["context"] = joined
    m = GB_LINK_RE.search(text) or re.search(r"\bGB(\d{4})\b", text)
    if m:
        out["code"] = f"GB{m.group(1)}"
    return out


def _inner_error(text: str) -> str | None:
    for rx in _INNER:
        m = rx.search(text)
        if m:
            msg = m.group("msg").replace("\\n", " ").replace("\\'", "'")
            return f"{m.group('type').rsplit('.', 1)[-1]}: {' '.join(msg.split())}"
    return None


_EXC_NAME = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)+[A-Z]\w*\s*:\s*|"
                       r"^\s*[A-Z]\w*(?:Error|Exception|Unsupported|Failed|Exceeded|Hit)\s*:\s*")


def _body(message: str) -> str:
    """A message without what torch puts after it (from user code, the verbose footer)."""
    out = []
    for line in (message or "").splitlines():
        if _STRUCT_END.match(line):
            break
        out.append(line)
    return "\n".join(out)


def torch_cause(message: str) -> str:
    """torch's cause of an error in one line: the first line of its explanation (2.7+) or of
    its message, with the error a wrapper names inside it (a fake-tensor call that got a
    RuntimeError, a backend that raised) brought forward."""
    s = structured_error(message)
    body = s["explanation"] if s and s["explanation"] else _body(message)
    text = _EXC_NAME.sub("", first_line(body))
    inner = _inner_error(body)
    if inner and inner.split(": ", 1)[-1][:40] not in text[:120]:
        text = inner
    elif inner:
        lead = text.split(": ", 1)[0]
        text = f"{lead}: {inner}" if len(lead) < 80 and lead not in inner else inner
    return " ".join(text.split())[:400]


def torch_advice(message: str) -> list:
    """What torch says to do about an error: the advice sentences of its explanation or
    message (of the error a wrapper names, where it names one), then its hints; a fix that
    only hides the failure (suppress_errors) last."""
    s = structured_error(message)
    body = s["explanation"] if s else _body(message)
    source = _inner_error(body) or body
    source = " ".join(_EXC_NAME.sub("", line) for line in source.splitlines())
    said = [t.strip() for t in _SENTENCE.split(" ".join(source.split()))
            if _ADVICE.match(t.strip())]
    said += [h for h in (s["hints"] if s else []) if not _REPORT_ONLY.match(h)]
    seen, out = set(), []
    for t in said:
        if t and t not in seen:
            seen.add(t)
            out.append(t[:400])
    return sorted(out, key=lambda t: bool(HIDES_FAILURE_RE.search(t)))


# what a guard is about: its subject (the first source it names) and the kind of that source.
# torch names a source L['x'] / G['x'] (2.0-2.6) or by its local name (2.7+: `self.calls`,
# `model._modules['attn']...`, `args[0].state`)
_SOURCE = re.compile(r"(?<![\w.'\"])(?:[LG]\[['\"][^'\"]+['\"]\]|[A-Za-z_]\w*)"
                     r"(?:\.\w+|\[['\"][^'\"]*['\"]\]|\[\d+\])*")
_NOT_A_SOURCE = re.compile(r"^(?:not|is|and|or|in|None|True|False|dict|list|tuple|type|len|"
                           r"isinstance|hasattr|torch|tensor|expected|actual|at|index|Eq|Ne|"
                           r"Mod|Max|Min|___\w*|\d.*)$")
_GUARD_IDENTITY = re.compile(r"___check_obj_id|___check_type_id|\bID_MATCH|\bTYPE_MATCH|"
                             r"__nn_module_guard|___check_current_backend|BACKEND_MATCH|"
                             r"\btype\([^)]*\)\s*(?:is|==)")
_GUARD_SHAPE = re.compile(r"\b(?:size|stride|dtype|device|requires_grad|dispatch key set) "
                          r"mismatch|dimensionality|\.size\(\)|\.stride\(\)|\.shape\b|"
                          r"\b(?:Eq|Ne|Mod|Max|Min)\(|\bs\d+\b|\bu\d+\b|\bL\['s\d+'\]|"
                          r"^\s*tensor '", re.I)
_GUARD_TORCH_STATE = re.compile(r"___check_global_state|GLOBAL_STATE|"
                                r"___check_torch_function_mode_stack|grad_mode|autocast|"
                                r"DEFAULT_DEVICE|DETERMINISTIC_ALGORITHMS", re.I)
_OPTIMIZER = re.compile(r"param_groups|\.state\b(?!_)|\['step'\]|\.defaults\[")
_MODULE = re.compile(r"^(?:self\b|L\[['\"]self['\"]\])|\._(?:modules|buffers|parameters)\b|"
                     r"\.training\b")
GUARD_STATE_KINDS = ("module", "optimizer")


def guard_sources(text: str) -> list[str]:
    """Every source a guard names, in order: ``L['self']._modules['a'].x``, ``self.seen``,
    ``G['cfg'].flag``, the tensor of a ``tensor 'L['x']' size mismatch`` (keywords, called
    functions and torch's helpers are not sources)."""
    m = re.match(r"\s*tensor '(.*?)'\s+\w[\w ]* mismatch", text)  # tensor 'L['x']' size mismatch
    if m:
        return [m.group(1)]
    out = []
    for m in _SOURCE.finditer(text):
        root = re.match(r"[LG]\[['\"][^'\"]+['\"]\]|\w+", m.group(0)).group(0)
        called = text[m.end():].lstrip().startswith("(")
        if not called and not _NOT_A_SOURCE.match(root):
            out.append(m.group(0))
    return out


def _guard_source(text: str) -> str:
    return next(iter(guard_sources(text)), "")


@functools.lru_cache(maxsize=4096)
def guard_subject(guard: str) -> tuple:
    """(kind, source) of a failed guard: kind one of "identity" (another object or type),
    "shape" (a tensor's size, stride, dtype, device), "torch_state" (grad mode, autocast,
    torch function modes), "optimizer" (param_groups, per-parameter state), "module" (state
    of a module: `self`, or a module reached through an argument or a global), "global" (a
    module-level global or a config object), "argument" (an argument's value), else "other"."""
    text = re.sub(r"^-\s*", "", guard_line(guard or ""))
    text = re.sub(r"\s*\(HINT:.*$", "", text)
    source = _guard_source(text)
    if _GUARD_TORCH_STATE.search(text):
        return "torch_state", source
    if _GUARD_IDENTITY.search(text):  # an identity guard on a global's value is the value
        return ("global" if source.startswith("G[") else "identity"), source
    if _OPTIMIZER.search(text):
        return "optimizer", source
    if _GUARD_SHAPE.search(text) and not re.match(r"\s*len\(", text):
        return "shape", source
    if HASATTR_GUARD_RE.search(text) or (source and _MODULE.search(source)):
        return "module", source
    if source.startswith("G["):
        return "global", source
    if source:
        if re.match(r"\s*len\(", text) and not re.search(r"\.\w", source):
            return "shape", source
        return "argument", source
    return "other", source
