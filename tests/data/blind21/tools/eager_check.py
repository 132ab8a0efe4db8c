"""Independent eager check of what forward writes (for writing TRUTH.md; not compilecheck).
Walks module attributes (modules, plain objects, dicts, lists, tuples, partial keywords of
hooks) and prints, per call, paths whose identity or value changed."""
import functools, importlib.util, sys, torch

def load(path):
    spec = importlib.util.spec_from_file_location("p", path); m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m); return m.factory()

def snap(obj, path="", out=None, seen=None, depth=0):
    out = {} if out is None else out; seen = set() if seen is None else seen
    if depth > 8: return out
    if isinstance(obj, torch.Tensor):
        out[path] = ("T", id(obj), tuple(obj.shape), obj.detach().double().sum().item() if obj.numel() else 0.0); return out
    if isinstance(obj, (int, float, bool, str, type(None))):
        out[path] = ("V", obj); return out
    if id(obj) in seen: return out
    seen.add(id(obj))
    if isinstance(obj, dict):
        out[path] = ("D", id(obj), len(obj))
        for k, v in list(obj.items()): snap(v, f"{path}[{k if not isinstance(k, torch.nn.Module) else type(k).__name__}]", out, seen, depth+1)
    elif isinstance(obj, (list, tuple)):
        out[path] = ("L", id(obj), len(obj))
        for i, v in enumerate(obj): snap(v, f"{path}[{i}]", out, seen, depth+1)
    elif isinstance(obj, functools.partial):
        snap(obj.keywords, path + ".keywords", out, seen, depth+1)
    elif hasattr(obj, "__dict__") and not callable(obj) or isinstance(obj, torch.nn.Module):
        d = dict(vars(obj))
        if isinstance(obj, torch.nn.Module):
            for k in ("_parameters", "_buffers", "_modules", "_forward_hooks"):
                for kk, vv in d.pop(k, {}).items():
                    snap(vv, f"{path}.{kk}" if k != "_forward_hooks" else f"{path}.<hook{kk}>", out, seen, depth+1)
        for k, v in d.items():
            if k.startswith("__") or k in ("training",) or k.startswith("_forward_pre") or k.startswith("_backward") or k.endswith("_hooks") or k.startswith("_state_dict") or k.startswith("_load_state"): continue
            snap(v, f"{path}.{k}", out, seen, depth+1)
    return out

def main(path, calls=7):
    torch.manual_seed(0)
    mod, args = load(path)
    g = torch.Generator().manual_seed(0)
    prev = snap(mod)
    for i in range(calls):
        a = tuple(x + 0.05 * i * torch.randn(x.shape, generator=g) if isinstance(x, torch.Tensor) and x.is_floating_point() and i else x for x in args)
        with torch.no_grad():
            out = mod(*a)
        cur = snap(mod)
        ch = []
        for k in sorted(set(prev) | set(cur)):
            p, c = prev.get(k), cur.get(k)
            if p == c: continue
            if p is None: ch.append(f"+{k}{c[2:] if c[0]=='T' else c[1:]}")
            elif c is None: ch.append(f"-{k}")
            elif p[0] == "T" and c[0] == "T":
                ch.append(f"{k}:{'rebind' if p[1]!=c[1] else 'inplace'}{'' if p[2]==c[2] else ' shape'+str(p[2])+'->'+str(c[2])}")
            else: ch.append(f"{k}:{p[1:] if p[0]=='V' else p[2]}->{c[1:] if c[0]=='V' else c[2]}")
        print(f"call {i+1}: " + ("; ".join(ch) if ch else "(nothing)"))
        prev = cur

if __name__ == "__main__":
    main(sys.argv[1])
