"""One default torch.compile (inductor) call of probes/ode_dopri5.py; prints the error and the torchdiffeq frames.
Run from tests/data/blind32. Output saved as checks/inductor_error_ode_dopri5.txt."""
import sys, traceback, importlib.util, torch
spec = importlib.util.spec_from_file_location("probe", "probes/ode_dopri5.py"); mod = importlib.util.module_from_spec(spec); sys.modules["probe"] = mod; spec.loader.exec_module(mod)
m, args = mod.factory()
try:
    with torch.no_grad():
        torch.compile(m)(*args)
except Exception as e:
    print(type(e).__name__, str(e).splitlines()[0])
    for l in str(e).splitlines():
        if "torchdiffeq" in l or "Found from" in l or "File \"" in l:
            print("  ", l.strip()[:200])
