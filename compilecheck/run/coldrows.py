"""One cold-start row inside its own fresh process (run/coldstart.py starts it with its own
cache folders): the diagnosed module and its first inputs, an eager reference, the module
compiled one way, its first call and steady calls timed, torch's cache counters read.

    python -m compilecheck.run.coldrows ROW SPEC_JSON WORKDIR OUT_JSON [REGION_JSON]
"""
from __future__ import annotations

import json
import os
import sys
import time

ABSENT = "absent in the installed torch"


class Absent(Exception):
    """What this torch lacks for the row: the row says so instead of a measurement."""


def max_abs_err(got, want) -> float:
    import torch

    if isinstance(got, torch.Tensor):
        return float((got.detach().float() - want.detach().float()).abs().max()) \
            if got.numel() else 0.0
    if isinstance(got, (tuple, list)):
        return max((max_abs_err(g, w) for g, w in zip(got, want)), default=0.0)
    if isinstance(got, dict):
        return max((max_abs_err(got[k], want[k]) for k in got), default=0.0)
    return 0.0


def _counts() -> dict:
    from torch._dynamo.utils import counters

    get = getattr(__import__("torch")._dynamo.utils, "get_compilation_metrics", None)
    metrics = get() if get else []
    ind, aot = counters["inductor"], counters["aot_autograd"]
    return {"fxgraph_hit": ind["fxgraph_cache_hit"], "fxgraph_miss": ind["fxgraph_cache_miss"],
            "aot_hit": aot["autograd_cache_hit"], "aot_miss": aot["autograd_cache_miss"],
            "graphs": counters["stats"]["unique_graphs"],
            "recompiles": sum(1 for m in metrics if getattr(m, "recompile_reason", None))}


def _measure(subject, fn, args, ref, spent_s: float = 0.0) -> dict:
    """The first call (compile included, plus ``spent_s`` paid before it), then steady calls."""
    import torch

    from .timing import time_calls

    with torch.no_grad():
        t0 = time.perf_counter()
        out = fn(*args)
        subject.sync()
        first = time.perf_counter() - t0
        timing = time_calls([fn], args, subject.device)[0]
    return {"compile_s": round(first + spent_s, 3), "first_call_s": round(first, 3),
            "steady_ms": round(timing.median_ms, 4), "spread": timing.to_json(),
            "max_abs_err": max_abs_err(out, ref)}


def _aot_ready(torch):
    if not hasattr(torch.compiler, "load_compiled_function"):
        raise Absent("torch.compiler.load_compiled_function " + ABSENT)
    cfg = torch._dynamo.config
    if not hasattr(cfg, "enable_aot_compile"):
        raise Absent("torch._dynamo.config.enable_aot_compile " + ABSENT)
    cfg.enable_aot_compile = True  # off by default before 2.13


def run_row(row: str, spec, workdir: str, profiled: dict | None = None) -> dict:
    """``row`` measured; ``profiled``: the repeated region the compile profile named."""
    import torch

    from .regions import profiled_region, repeated_class
    from .subject import fresh, seed_all

    artifacts = os.path.join(workdir, "cache_artifacts.bin")
    aot_path = os.path.join(workdir, "model.aot")
    seed_all(spec.seed)
    subject = fresh(spec)
    m, args = subject.module, subject.inputs(0)
    with torch.no_grad():  # the eager reference, also the eager warm-up the loop does
        ref = m(*args)
        subject.sync()
    mode = spec.mode
    extra: dict = {}
    if row in ("as-deployed", "warm-cache"):
        res = _measure(subject, torch.compile(m, mode=mode), args, ref)
        if row == "as-deployed":
            extra["artifacts"] = _save_artifacts(torch, artifacts)
    elif row == "cache-artifacts":
        if not hasattr(torch.compiler, "load_cache_artifacts"):
            raise Absent("torch.compiler.load_cache_artifacts " + ABSENT)
        if not os.path.exists(artifacts):
            raise Absent("no cache artifacts: the as-deployed row saved none")
        t0 = time.perf_counter()
        with open(artifacts, "rb") as f:
            torch.compiler.load_cache_artifacts(f.read())
        load_s = time.perf_counter() - t0
        res = _measure(subject, torch.compile(m, mode=mode), args, ref, load_s)
        extra["load_s"] = round(load_s, 3)
    elif row in ("regional", "nested-region"):
        if profiled and profiled.get("none"):  # the profile named no region worth compiling
            raise Absent(profiled["none"])
        region = profiled_region(m, profiled)
        if profiled and region is None:
            raise Absent(f"the compile profile named {profiled.get('qualname') or 'a region'}"
                         f" (defined at {profiled.get('defined')}), but no object the module "
                         "holds has it: nothing to compile in its place")
        source = "compile profile" if region else "repeated module class"
        region = region or repeated_class(m)
        if region is None:
            raise Absent("no repeated region: no compile profile named one and no module "
                         "class repeats in this module")
        extra.update(region_class=region.label, region_owner=region.cls.__name__,
                     regions=len(region.owners),
                     region_function=region.function, region_paths=region.paths[:8],
                     region_source=source)
        if profiled and profiled.get("share") is not None:
            extra["region_share"] = profiled["share"]
        if row == "regional":
            region.compile_each(torch, mode)
            res = _measure(subject, m, args, ref)
        else:
            if getattr(torch.compiler, "nested_compile_region", None) is None:
                raise Absent("torch.compiler.nested_compile_region " + ABSENT)
            region.mark_nested(torch)
            res = _measure(subject, torch.compile(m, mode=mode), args, ref)
    elif row == "aot-save":
        _aot_ready(torch)
        with torch.no_grad():
            t0 = time.perf_counter()
            fn = torch.compile(m, mode=mode, fullgraph=True).forward.aot_compile((tuple(args),
                                                                                  {}))
            fn.save_compiled_function(aot_path)
        res = {"build_s": round(time.perf_counter() - t0, 3)}
    elif row == "aot":
        _aot_ready(torch)
        if not os.path.exists(aot_path):
            raise Absent("no ahead-of-time artifact: its build step failed")
        t0 = time.perf_counter()
        with open(aot_path, "rb") as f:
            loaded = torch.compiler.load_compiled_function(f)
        load_s = time.perf_counter() - t0
        res = _measure(subject, lambda *a: loaded(m, *a), args, ref, load_s)
        extra["load_s"] = round(load_s, 3)
    else:
        raise ValueError(f"unknown cold-start row {row!r}")
    res.update(extra)
    res.update(_counts())
    if row not in ("aot", "aot-save") and not res["graphs"]:
        raise RuntimeError("nothing was compiled: dynamo traced no graph (the first call ran "
                           "eagerly)")
    return res


def _save_artifacts(torch, path: str):
    save = getattr(torch.compiler, "save_cache_artifacts", None)
    if save is None:
        return "torch.compiler.save_cache_artifacts " + ABSENT
    got = save()
    if got is None:
        return "save_cache_artifacts() returned nothing (no cache entry recorded)"
    with open(path, "wb") as f:
        f.write(got[0])
    return {"bytes": len(got[0])}


def main() -> None:
    row, spec_json, workdir, out = sys.argv[1:5]
    profiled = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
    import torch

    from ..plan.spec import CellSpec

    threads = os.environ.get("COMPILECHECK_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    try:
        res = {"status": "ok", **run_row(row, CellSpec.from_json(spec_json), workdir,
                                         profiled)}
    except Absent as e:
        res = {"status": "absent", "error": str(e)}
    except Exception as e:  # the probe's own failure under this row: an observation
        res = {"status": "error", "error": f"{type(e).__name__}: {str(e)[:600]}"}
    with open(out, "w") as f:
        json.dump(res, f, default=str)


if __name__ == "__main__":
    main()
