"""What torch records while a cell runs: the messages it logs (recompiles, cudagraph skips,
warnings), its counters and its compilation metrics; and errors as plain records."""
from __future__ import annotations

import logging
import re
import traceback

import torch

LOG_ARTIFACTS = dict(recompiles=True, cudagraphs=True, graph_breaks=True)
MAX_LINES = 500
METRIC_FIELDS = (
    "co_name", "co_filename", "co_firstlineno", "recompile_reason", "num_graph_breaks",
    "fail_type", "fail_reason", "fail_user_frame_filename", "fail_user_frame_lineno",
    "cudagraph_skip_reason", "graph_op_count", "graph_node_count", "graph_input_count",
    "entire_frame_compile_time_s", "backend_compile_time_s", "inductor_compile_time_s",
    "code_gen_time_s", "dynamo_cumulative_compile_time_us",
    "aot_autograd_cumulative_compile_time_us", "inductor_cumulative_compile_time_us",
    "inductor_code_gen_cumulative_compile_time_us", "triton_compile_time_us", "compile_id",
    "guard_count",
)


class _Capture(logging.Handler):
    """Keeps the messages torch logs during a cell (recompiles, cudagraph skips, warnings)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        if record.name.endswith("__trace") or len(self.lines) > MAX_LINES:
            return
        try:
            self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}"[:2000])
        except Exception:
            pass


_capture = _Capture()


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


def reset():
    """A clean slate for the next cell: dynamo's caches, counters, metrics, captured logs."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    _attach_capture()  # loggers created since the last cell
    counters.clear()
    clear = getattr(torch._dynamo.utils, "clear_compilation_metrics", None)
    if clear:
        clear()
    _capture.lines.clear()


def _plain(v):
    return v if v is None or isinstance(v, (int, float, str, bool)) else str(v)


# torch <= 2.7 guards None and bools by identity (GuardBuilder.CONSTANT_MATCH calls ID_MATCH):
# `___check_obj_id(self._act_scale, 94312...)`, where newer torch writes `self._act_scale is
# None` (NONE_MATCH) or `self.ready == True` (BOOL_MATCH). The id means something only in the
# process that compiled: name the object here, as newer torch does.
_ID_GUARD_RE = re.compile(r"___check_obj_id\((.+?), (\d+)\)")


def _named_id_guards(reason):
    if not reason or "___check_obj_id" not in reason:
        return reason
    singletons = {id(None): "is None", id(True): "== True", id(False): "== False"}

    def name(m):
        test = singletons.get(int(m.group(2)))
        return f"{m.group(1)} {test}" if test else m.group(0)
    return _ID_GUARD_RE.sub(name, reason)


def metrics() -> list[dict]:
    get = getattr(torch._dynamo.utils, "get_compilation_metrics", None)
    out = [{k: _plain(getattr(m, k, None)) for k in METRIC_FIELDS} for m in (get() if get else [])]
    for m in out:
        m["recompile_reason"] = _named_id_guards(m["recompile_reason"])
    return out


def counters() -> dict:
    from torch._dynamo.utils import counters as c

    return {k: {str(kk): vv for kk, vv in v.items()} for k, v in c.items()
            if k in ("stats", "graph_break", "inductor", "frames", "unimplemented")}


def recompile_limit() -> int | None:
    """dynamo's recompile limit (``cache_size_limit`` before torch 2.6)."""
    config = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    return None


def logs() -> list[str]:
    return list(_capture.lines)


def describe_error(exc: BaseException, phase: str, step: int | None = None) -> dict:
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    return {
        "phase": phase,
        "step": step,
        "type": mro[0],
        "mro": mro,
        "message": str(exc)[:6000],
        "traceback": "".join(traceback.format_exception(exc))[-6000:],
    }
