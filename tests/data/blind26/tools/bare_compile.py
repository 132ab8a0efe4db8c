"""One bare compile-and-first-call of a probe's module the way its owners compile it
(torch.compile(module, mode=MODE)), in this fresh process; not compilecheck.
Run through tools/bare_compile.sh, which gives the process an empty inductor cache and TMPDIR.
Prints the figures as one JSON line. Usage: python bare_compile.py probes/x.py [MODE]"""
import json
import os
import sys
import time

T_START = time.perf_counter()
import importlib.util  # noqa: E402

import torch  # noqa: E402
from torch._dynamo.utils import counters, get_compilation_metrics  # noqa: E402


def main(path, mode):
    spec = importlib.util.spec_from_file_location("probe", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    module, args = mod.factory()
    t_built = time.perf_counter()
    with torch.no_grad():
        t0 = time.perf_counter()
        compiled = torch.compile(module, mode=mode)
        out = compiled(*args)
        t1 = time.perf_counter()
        steady = []
        for _ in range(5):
            s = time.perf_counter()
            compiled(*args)
            steady.append(time.perf_counter() - s)
    ms = get_compilation_metrics()
    print(json.dumps({
        "probe": os.path.basename(path), "mode": mode, "torch": torch.__version__,
        "import_and_build_s": round(t_built - T_START, 2),
        "compile_and_first_call_s": round(t1 - t0, 2),
        "steady_ms_median": round(sorted(steady)[2] * 1e3, 3),
        "graphs": counters["stats"]["unique_graphs"],
        "recompiles": sum(1 for m in ms if m.recompile_reason),
        "cudagraph_skips": counters["inductor"].get("cudagraph_skips", 0),
        "out_shape": list(out.shape),
        "inductor_cache_dir": os.environ.get("TORCHINDUCTOR_CACHE_DIR"),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "reduce-overhead")
