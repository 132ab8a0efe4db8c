"""Where a cell's compile time goes, from what torch records: compilation metrics' phase
times, the graphs dynamo hands the backend (their node counts), and each FX node's user stack
(which function of the user's made it).

The graphs are seen through a backend that records them and hands them to the very inductor
wrapper ``torch.compile(mode=...)`` would build, with its reset and its config, so the compile
is the same compile.
"""
from __future__ import annotations

import os
import re
import time

import torch

from .randomops import random_op
from .sources import is_user_file, short_path

FRAME_RE = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
TOP = 5
_HANDED = [0]  # graphs handed to inductor in this process (a worker's progress reads it)


def graphs_handed() -> int:
    return _HANDED[0]


class RecordingBackend:
    """inductor, as torch.compile(mode=..., options=...) builds it, recording each graph."""

    compiler_name = "inductor"

    def __init__(self, mode=None, options=None):
        self.inner = torch._TorchCompileInductorWrapper(mode, options, None)  # dynamic: as torch.compile's default
        self.__name__ = "inductor"  # a registered backend's name: torch treats it as one
        self.graphs: list = []
        self.own_s = 0.0  # what recording the graphs cost
        self.backend_cpu_s = self.backend_wall_s = 0.0

    def __call__(self, gm, example_inputs, **kw):
        t = time.perf_counter()
        self.graphs.append(_graph_summary(gm))
        _HANDED[0] += 1
        self.own_s += time.perf_counter() - t
        cpu, wall = _cpu_s(), time.perf_counter()
        try:
            return self.inner(gm, example_inputs, **kw)
        finally:  # how much of the backend's wall time this process (and its compilers) ran
            self.backend_cpu_s += _cpu_s() - cpu
            self.backend_wall_s += time.perf_counter() - wall

    def reset(self):
        self.inner.reset()

    def get_compiler_config(self):
        return self.inner.get_compiler_config()


def _cpu_s() -> float:
    """CPU seconds of this process and of its children waited for (the C++ compiler)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _graph_summary(gm) -> dict:
    """Node counts of one dynamo graph and the user frames that made its operations: the
    innermost one (``sources``, ``lines``) and every one on the stack (``within``: the
    operations a function made, itself or through what it called)."""
    ops, sources, lines, within, within_at, drawn = 0, {}, {}, {}, {}, {}
    for node in gm.graph.nodes:
        if node.op not in ("call_function", "call_method", "call_module"):
            continue
        ops += 1
        frames = [f for f in FRAME_RE.findall(node.meta.get("stack_trace") or "")
                  if is_user_file(f[0])]
        rand = random_op(node)
        if rand:  # where the graph draws random numbers: its innermost user line
            at = f"{short_path(frames[-1][0])}:{frames[-1][1]}" if frames else None
            drawn[(rand, at)] = drawn.get((rand, at), 0) + 1
        if not frames:
            continue
        path, line, func = frames[-1]  # the innermost user frame
        key = (short_path(path), func)
        sources[key] = sources.get(key, 0) + 1
        lines[(short_path(path), int(line))] = lines.get((short_path(path), int(line)), 0) + 1
        for f in {fn for _, _, fn in frames}:
            within[f] = within.get(f, 0) + 1
        # told apart by file and call site: "file:function@caller_file:line"
        for f in {f"{short_path(frames[j][0])}:{frames[j][2]}@{short_path(frames[j - 1][0])}:"
                  f"{frames[j - 1][1]}" for j in range(1, len(frames))}:
            within_at[f] = within_at.get(f, 0) + 1
    return {"nodes": len(gm.graph.nodes), "ops": ops, "sources": sources, "lines": lines,
            "within": within, "within_at": within_at, "random": drawn}


def _us(m: dict, new: str, old: str) -> float | None:
    """A metric in seconds: the newer microsecond field, else the older seconds one."""
    if m.get(new) is not None:
        return m[new] / 1e6
    return m.get(old)


def phases(metrics: list[dict]) -> dict:
    """Compile seconds split into dynamo tracing, AOT autograd (partitioning) and inductor
    (codegen and kernel compilation), summed over the cell's compiles. torch's figures nest
    (dynamo includes the backend, which includes inductor): the phases are differences."""
    total = {"dynamo_s": 0.0, "aot_s": 0.0, "inductor_s": 0.0, "kernels_s": 0.0}
    seen = False
    for m in metrics:
        whole = _us(m, "dynamo_cumulative_compile_time_us", "entire_frame_compile_time_s")
        if whole is None:
            continue
        seen = True
        backend = _us(m, "aot_autograd_cumulative_compile_time_us", "backend_compile_time_s") or 0
        inductor = _us(m, "inductor_cumulative_compile_time_us", "inductor_compile_time_s") or 0
        total["dynamo_s"] += max(whole - backend, 0.0)
        total["aot_s"] += max(backend - inductor, 0.0)
        total["inductor_s"] += inductor
        total["kernels_s"] += (m.get("triton_compile_time_us") or 0) / 1e6
    return {k: round(v, 3) for k, v in total.items()} if seen else {}


def build(backend: RecordingBackend | None, metrics: list[dict]) -> dict:
    """The cell's compile profile: phases, graph sizes, the user functions that make the
    graphs (file, function, share of the operations) and the source lines that repeat most
    (an unrolled loop shows as one line making many operations)."""
    graphs = backend.graphs if backend else []
    ops = sum(g["ops"] for g in graphs)
    sources: dict = {}
    lines: dict = {}
    within: dict = {}
    within_at: dict = {}
    drawn: dict = {}
    for g in graphs:
        for acc, part in ((sources, g["sources"]), (lines, g["lines"]), (within, g["within"]),
                          (within_at, g["within_at"]), (drawn, g["random"])):
            for k, n in part.items():
                acc[k] = acc.get(k, 0) + n
    top = sorted(sources.items(), key=lambda kv: -kv[1])[:TOP]
    hot = sorted(lines.items(), key=lambda kv: -kv[1])[:TOP]
    return {
        "phases": phases(metrics),
        "graphs": len(graphs),
        "nodes": sum(g["nodes"] for g in graphs),
        "ops": ops,
        "top_sources": [{"file": f, "function": fn, "ops": n,
                         "share": round(n / ops, 3) if ops else 0.0} for (f, fn), n in top],
        "hot_lines": [{"where": f"{f}:{line}", "ops": n} for (f, line), n in hot],
        "within": within,  # function -> operations made inside it (itself or its callees)
        "within_at": within_at,  # "file:function@call site" -> the same, per call site
        # the operations that draw random numbers in the graphs (observe/randomops.py)
        "random_ops": [{"op": op, "where": at, "nodes": n} for (op, at), n in drawn.items()],
        "profile_s": round(backend.own_s, 4) if backend else 0.0,  # the profile's own cost
        # CPU over wall seconds of the backend's compile: below 1 where other processes
        # shared the cores (a crowded machine stretches wall time, not the work)
        "cpu_share": round(min(1.0, backend.backend_cpu_s / backend.backend_wall_s), 3)
        if backend and backend.backend_wall_s >= 0.5 else None,
    }


def profile_lines(p: dict) -> list[str]:
    """The profile as a few lines of markdown (the ticket's folded details)."""
    ph = p.get("phases") or {}
    out = []
    if ph:
        out.append(f"- compile: dynamo tracing {ph['dynamo_s']:.2f} s, AOT autograd "
                   f"{ph['aot_s']:.2f} s, inductor {ph['inductor_s']:.2f} s (of which kernel "
                   f"compilation {ph['kernels_s']:.2f} s)")
    out.append(f"- {p['graphs']} graph(s), {p['nodes']} FX nodes, {p['ops']} operations")
    for s in p.get("top_sources") or []:
        out.append(f"- `{s['function']}` ({os.path.basename(s['file'])}): {s['ops']} "
                   f"operations, {s['share']:.0%}")
    r = p.get("repeated_region")
    if r:
        out.append(f"- repeated region: `{r['region']}` traced {r['calls']} times a call from "
                   f"{r['call_site']}, {r['share']:.0%} of the operations"
                   + (f" (inside {r['loop']})" if r.get("loop") else "")
                   + (f"; compile it alone: `{r['compile_line']}`" if r.get("compile_line")
                      else "; no regional compile can target it as the code is"))
    return out
