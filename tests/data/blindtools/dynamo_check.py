"""Independent torch.compile check for TRUTH.md (not compilecheck).

Loads a probe's factory() twice (same seed): one copy compiled with torch.compile(backend=B,
mode=M), one eager reference; calls both N times the way compilecheck's `loop` pattern does
(under no_grad, float inputs perturbed from call 2 on, same RNG seed per call) and prints per
call the max error vs eager, then torch's own records: graph-break counters, unique graphs,
each compile's recompile reason (get_compilation_metrics), errors.
Usage: python dynamo_check.py probes/x.py BACKEND [CALLS] [MODE]
"""
import importlib.util
import sys

import torch
import torch._dynamo
from torch._dynamo.utils import counters, get_compilation_metrics


def load(path):
    spec = importlib.util.spec_from_file_location("probe", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["probe"] = mod  # dynamo may import a probe-defined class's module by name (blind32)
    spec.loader.exec_module(mod)
    return mod.factory()


def first_tensor(o):
    if isinstance(o, torch.Tensor):
        return o
    if isinstance(o, (tuple, list)):
        for x in o:
            t = first_tensor(x)
            if t is not None:
                return t
    if isinstance(o, dict):
        return first_tensor(list(o.values()))
    return None


def main(path, backend, n=6, mode=None):
    torch.manual_seed(0)
    mod, args = load(path)
    torch.manual_seed(0)
    ref, _ = load(path)
    kw = {"backend": backend}
    if mode and mode != "none":
        kw["mode"] = mode
    comp = torch.compile(mod, **kw)
    g = torch.Generator().manual_seed(0)
    seen_c, seen_b = 0, 0
    for i in range(n):
        a = tuple(x + 0.05 * i * torch.randn(x.shape, generator=g)
                  if isinstance(x, torch.Tensor) and x.is_floating_point() and i else x for x in args)
        with torch.no_grad():
            torch.manual_seed(100 + i)
            try:
                o = comp(*a)
            except Exception as e:
                print(f"call {i + 1}: ERROR {type(e).__name__}: {str(e)[:400]}")
                break
            torch.manual_seed(100 + i)
            r = ref(*a)
        to, tr = first_tensor(o), first_tensor(r)
        if to is not None and tr is not None and to.shape == tr.shape:
            err = (to.detach().double() - tr.detach().double()).abs().max().item() if to.numel() else 0.0
        else:
            err = f"not comparable ({type(o).__name__})"
        ms = get_compilation_metrics()
        nb = sum(counters["graph_break"].values())
        new = ms[seen_c:]
        print(f"call {i + 1}: max err vs eager {err}; new compiles {len(new)}"
              f" (graphs {sum(1 for m in new if m.graph_op_count)}, recompiles {sum(1 for m in new if m.recompile_reason)}),"
              f" graph-break counter +{nb - seen_b}")
        seen_c, seen_b = len(ms), nb
    gb = dict(counters["graph_break"])
    print(f"graph_break ({sum(gb.values())}):")
    for k, v in gb.items():
        print(f"  {v}x {k[:300]!r}")
    print("unique_graphs:", counters["stats"]["unique_graphs"])
    ms = get_compilation_metrics()
    print("compiles:", len(ms), "recompiles:", sum(1 for m in ms if m.recompile_reason))
    for m in ms:
        if m.recompile_reason:
            print("  recompile:", str(m.recompile_reason)[:300].replace("\n", " "))
        if m.fail_reason:
            print("  fail:", str(m.fail_reason)[:300].replace("\n", " "))
    skips = counters["inductor"].get("cudagraph_skips", 0)
    if skips:
        print("cudagraph_skips:", skips)


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], int(a[2]) if len(a) > 2 else 6, a[3] if len(a) > 3 else None)
