"""Independent eager check of what forward writes (for writing TRUTH.md; not compilecheck).

Loads a probe's factory(), calls the module N times the way compilecheck's `loop` pattern does
(under no_grad, same shapes, float inputs perturbed from call 2 on; `--grad` calls with grad on),
and prints per call every path whose identity, storage, version counter or value changed.
The walk reads __dict__ directly (no getattr, no len/eq/bool on foreign objects), enters modules'
parameters/buffers/submodules/hooks, plain objects, dicts, lists, tuples, partials, bound methods'
__self__, closure cells and spikingjelly-style `_memories`. Anything that raises is recorded as
opaque. Usage: python eager_check.py probes/x.py [calls] [--grad]
"""
import functools
import importlib.util
import sys
import types

import torch


def load(path):
    spec = importlib.util.spec_from_file_location("probe", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.factory()


SCALARS = (int, float, bool, str, bytes, type(None), complex, torch.dtype, torch.device)


def tsig(t):
    """Identity, storage, version and a checksum of a tensor (value changes via .data included)."""
    try:
        d = t.detach()
        # blind31 fix: blind26 summed abs-sum + sum into ONE number, which is 0 for every negative
        # element (|x| + x = 0), so value changes of negative entries (e.g. an observer's min_val)
        # were invisible. Keep sum, abs-sum and a position-weighted sum as separate fields.
        if d.numel() == 0:
            s = (0.0, 0.0, 0.0)
        else:
            f = d.to(torch.complex128).abs() if d.is_complex() else d.to(torch.float64)
            f = f.reshape(-1)
            w = torch.arange(1, f.numel() + 1, dtype=torch.float64)
            s = tuple(round(v, 9) for v in (f.sum().item(), f.abs().sum().item(), (f * w).sum().item()))
        ptr = d.untyped_storage().data_ptr() if d.numel() else 0
        return ("T", id(t), tuple(d.shape), str(d.dtype), ptr, t._version, s)
    except Exception as e:  # uninitialised parameters etc.
        return ("T?", id(t), type(t).__name__, type(e).__name__)


def snap(obj, path, out, seen, depth=0):
    if depth > 10:
        return
    if isinstance(obj, torch.Tensor):
        out[path] = tsig(obj)
        return
    if isinstance(obj, SCALARS):
        out[path] = ("V", obj)
        return
    if isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        if isinstance(obj, types.FunctionType) and obj.__closure__ and id(obj) not in seen:
            seen.add(id(obj))
            for name, cell in zip(obj.__code__.co_freevars, obj.__closure__):
                try:
                    snap(cell.cell_contents, f"{path}.<cell {name}>", out, seen, depth + 1)
                except ValueError:
                    pass
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    try:
        if type(obj) in (dict,) or isinstance(obj, dict):
            items = list(dict.items(obj))
            out[path] = ("D", id(obj), len(items))
            for k, v in items:
                kn = k if isinstance(k, (str, int)) else type(k).__name__
                snap(v, f"{path}[{kn!r}]", out, seen, depth + 1)
            return
        if isinstance(obj, (set, frozenset)):
            out[path] = ("S", id(obj), len(set.__iter__(obj).__length_hint__() if False else list(set.__iter__(obj) if isinstance(obj, set) else frozenset.__iter__(obj))))
            return
        if isinstance(obj, (list, tuple)):
            items = list(list.__iter__(obj)) if isinstance(obj, list) else list(tuple.__iter__(obj))
            out[path] = ("L", id(obj), len(items))
            for i, v in enumerate(items):
                snap(v, f"{path}[{i}]", out, seen, depth + 1)
            return
        if isinstance(obj, functools.partial):
            snap(obj.func, f"{path}.func", out, seen, depth + 1)
            for i, a in enumerate(obj.args):
                snap(a, f"{path}.args[{i}]", out, seen, depth + 1)
            snap(obj.keywords, f"{path}.keywords", out, seen, depth + 1)
            return
        if isinstance(obj, types.MethodType):
            snap(obj.__self__, f"{path}.__self__", out, seen, depth + 1)
            snap(obj.__func__, f"{path}.__func__", out, seen, depth + 1)
            return
        d = object.__getattribute__(obj, "__dict__")
    except Exception as e:
        out[path] = ("OPAQUE", type(obj).__name__, type(e).__name__)
        return
    d = dict(d)
    if isinstance(obj, torch.nn.Module):
        for k in ("_parameters", "_buffers", "_modules"):
            for kk, vv in dict(d.pop(k, {})).items():
                snap(vv, f"{path}.{kk}", out, seen, depth + 1)
        for k in list(d):
            if k.endswith("_hooks") or k.endswith("_hooks_with_kwargs") or k.endswith("_always_called"):
                hooks = d.pop(k)
                if isinstance(hooks, dict) and hooks:
                    out[f"{path}.<{k}>"] = ("D", id(hooks), len(hooks))
                    for hk, hv in dict(hooks).items():
                        snap(hv, f"{path}.<{k}>[{hk}]", out, seen, depth + 1)
        for k in ("training", "_state_dict_pre_hooks", "_is_full_backward_hook"):
            d.pop(k, None)
    for k, v in d.items():
        snap(v, f"{path}.{k}", out, seen, depth + 1)


def take(mod):
    out, seen = {}, set()
    snap(mod, "", out, seen)
    return out


def describe(p, c):
    if p is None:
        return "+" + (str(c[2:4]) if c[0] == "T" else str(c[1:]))
    if c is None:
        return "-"
    if p[0] == "T" and c[0] == "T":
        bits = []
        if p[1] != c[1]:
            bits.append("rebind")
        elif p[4] != c[4]:
            bits.append("storage swapped (.data=)")
        if p[2] != c[2]:
            bits.append(f"shape {p[2]}->{c[2]}")
        if p[1] == c[1] and p[5] != c[5]:
            bits.append(f"inplace v{p[5]}->v{c[5]}")
        if p[6] != c[6]:
            bits.append("value")
        elif p[1] == c[1] and p[5] == c[5] and p[4] == c[4]:
            bits.append("?")
        return ",".join(bits)
    if p[0] == "V" and c[0] == "V":
        return f"{p[1]!r}->{c[1]!r}"
    if p[0] in "DL" and c[0] in "DL":
        return ("rebind " if p[1] != c[1] else "") + f"len {p[2]}->{c[2]}"
    return f"{p[:2]}->{c[:2]}"


def main(path, calls=6, grad=False):
    torch.manual_seed(0)
    mod, args = load(path)
    g = torch.Generator().manual_seed(0)
    prev = take(mod)
    opaque = sorted(k for k, v in prev.items() if v[0] == "OPAQUE")
    if opaque:
        print("opaque:", opaque)
    for i in range(calls):
        a = tuple(x + 0.05 * i * torch.randn(x.shape, generator=g)
                  if isinstance(x, torch.Tensor) and x.is_floating_point() and i else x for x in args)
        torch.manual_seed(100 + i)
        with torch.set_grad_enabled(grad):
            mod(*a)
        cur = take(mod)
        ch = [f"{k or '<root>'}: {describe(prev.get(k), cur.get(k))}"
              for k in sorted(set(prev) | set(cur)) if prev.get(k) != cur.get(k)]
        print(f"call {i + 1}: " + ("; ".join(ch) if ch else "(nothing)"))
        prev = cur


if __name__ == "__main__":
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(argv[0], int(argv[1]) if len(argv) > 1 else 6, grad="--grad" in sys.argv)
