"""torch's own wordings and exception types, shared by the detectors and by explain."""
from __future__ import annotations

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
    r"uninvoked backwards|outputs from a previous step still require backward)", re.I)
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
