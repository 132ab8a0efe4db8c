"""Independent dynamo check (backend=eager or inductor) for TRUTH.md: graph breaks, graphs,
recompile reasons, errors over N policy-loop calls. Not compilecheck."""
import collections, importlib.util, sys, torch, torch._dynamo
from torch._dynamo.utils import counters, get_compilation_metrics

def load(path):
    spec = importlib.util.spec_from_file_location("p", path); m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m); return m.factory()

path, backend, n = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5
torch.manual_seed(0)
mod, args = load(path)
try:
    ref = __import__("copy").deepcopy(mod)
except Exception:
    torch.manual_seed(0); ref, _ = load(path)
c = torch.compile(mod, backend=backend)
g = torch.Generator().manual_seed(0)
for i in range(n):
    a = tuple(x + 0.05 * i * torch.randn(x.shape, generator=g) if isinstance(x, torch.Tensor) and x.is_floating_point() and i else x for x in args)
    torch.manual_seed(100 + i); 
    with torch.no_grad():
        try:
            o = c(*a)
        except Exception as e:
            print(f"call {i+1}: ERROR {type(e).__name__}: {str(e)[:300]}"); break
        torch.manual_seed(100 + i); r = ref(*a)
    ft = lambda o: o if isinstance(o, torch.Tensor) else next((ft(x) for x in (o if isinstance(o,(tuple,list)) else o.values()) if ft(x) is not None), None) if isinstance(o,(tuple,list,dict)) else None
    to, tr = ft(o), ft(r)
    err = (to.float() - tr.float()).abs().max().item() if to is not None and to.shape == tr.shape else "shape/none"
    print(f"call {i+1}: max err vs eager {err}")
print("graph_break:", dict(counters["graph_break"]) and {k[:160]: v for k, v in counters["graph_break"].items()})
print("unique_graphs:", counters["stats"]["unique_graphs"])
for m in get_compilation_metrics():
    if m.recompile_reason: print("recompile:", str(m.recompile_reason)[:240])
