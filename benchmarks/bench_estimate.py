"""The whole-policy compile estimate (compilecheck/estimate.py) against a real stack of layers.

    python benchmarks/bench_estimate.py [--layers 2] [--variant deployed]

Builds a small "policy": two towers of --layers transformer-like blocks, each with the seven
linears of a Gemma layer (q, k, v, o, gate, up, down) as DuQuant layers of --variant, at small
widths (tower A 64/16/128, tower B 32/16/64, block 16). Then, each in a fresh process with a
cold inductor cache:
1. one layer diagnosed as compilecheck does (a cell at 16x64x64, default mode): its profile;
2. the whole stack compiled with one torch.compile, cold, then warmed up first (one eager call
   before compiling), timed to the end of the first compiled call;
both after the process's one-time compile costs (compilecheck's workers pay those before their
first cell, so a cell's profile does not carry them);
and prints the estimate made from (1) for the stack's linears next to (2). Not a test:
figures only (docs/performance.md keeps them).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TOWERS = {"A": (64, 16, 128), "B": (32, 16, 64)}  # width, k/v width, MLP width
TOKENS = 8

LAYER = r"""
import json, sys, time
from compilecheck.run.cell import run_cell
from compilecheck.observe.records import install_log_capture
from compilecheck.run.worker import warm_compiler
warm_compiler("cpu")  # as a worker does: the process's one-time compile costs paid before
from compilecheck.probes.config import DuQuantConfig
from compilecheck.plan.spec import CellSpec
install_log_capture()
variant, warmup = sys.argv[1], int(sys.argv[2])
spec = CellSpec(variant=variant, mode="default", cudagraphs=False, device="cpu",
                shape="16x64x64", config=tuple(sorted(DuQuantConfig().__dict__.items())),
                warmup=warmup)
obs = run_cell(spec)
print(json.dumps({"profile": obs["profile"], "audit": obs["audit"],
                  "compile_s": obs["compile_s"]}))
"""

STACK = r"""
import json, sys, time
import torch
from torch import nn
from compilecheck import probes
from compilecheck.probes.config import DuQuantConfig
from compilecheck.probes.data import make_linear
from compilecheck.probes.shapes import Shape
variant, layers, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
towers = json.loads(sys.argv[4])
cfg = DuQuantConfig()
cls = probes.VARIANTS[variant].layer

def lin(i, o, seed):
    return cls(make_linear(Shape(8, i, o), seed), cfg)

class Block(nn.Module):
    def __init__(self, d, dk, h, seed):
        super().__init__()
        self.q, self.k, self.v, self.o = lin(d, d, seed), lin(d, dk, seed + 1), \
            lin(d, dk, seed + 2), lin(d, d, seed + 3)
        self.gate, self.up, self.down = lin(d, h, seed + 4), lin(d, h, seed + 5), \
            lin(h, d, seed + 6)
    def forward(self, x):
        a = self.q(x)
        x = x + self.o(a) + (self.k(x).mean() + self.v(x).mean())
        return x + self.down(self.gate(x) * self.up(x))

class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.towers = nn.ModuleDict({n: nn.Sequential(*[Block(d, dk, h, 10 * i)
                                                        for i in range(layers)])
                                     for n, (d, dk, h) in towers.items()})
    def forward(self, xs):
        return [self.towers[n](xs[n]) for n in self.towers]

from compilecheck.run.worker import warm_compiler
warm_compiler("cpu")  # the same one-time costs paid before, as for the single layer
torch.manual_seed(0)
m = Stack().eval()
xs = {n: torch.randn(8, d) for n, (d, _, _) in towers.items()}
with torch.no_grad():
    if warm:
        m(xs)
    c = torch.compile(m)
    t = time.perf_counter()
    c(xs)
    first = time.perf_counter() - t
from torch._dynamo.utils import get_compilation_metrics
ms = [x for x in get_compilation_metrics()]
dyn = sum((x.dynamo_cumulative_compile_time_us or 0) for x in ms) / 1e6
aot = sum((x.aot_autograd_cumulative_compile_time_us or 0) for x in ms) / 1e6
print(json.dumps({"first_call_s": first, "compile_s": dyn, "trace_s": dyn - aot,
                  "backend_s": aot, "graphs": len(ms)}))
"""


def fresh(script, *args):
    cache = tempfile.mkdtemp(prefix="cc-est-")
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, PYTHONPATH=ROOT,
               TORCHINDUCTOR_COMPILE_THREADS="1")
    p = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                       text=True, cwd=ROOT)
    if p.returncode:
        sys.exit(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--variant", default="deployed")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    from compilecheck.decide.estimate import _one_time_ops, policy_cost
    from compilecheck.probes.shapes import Shape
    from compilecheck.vocab.results import CellResult

    towers = {n: (a.layers, [Shape(8, d, d), Shape(8, d, dk), Shape(8, d, dk), Shape(8, d, d),
                             Shape(8, d, h), Shape(8, d, h), Shape(8, h, d)])
              for n, (d, dk, h) in TOWERS.items()}
    print(f"stack: {2 * a.layers * 7} {a.variant} linears in 2 towers of {a.layers} blocks")
    for warm in (0, 1):
        one = fresh(LAYER, a.variant, str(-1 if warm else 0))
        cell = CellResult(variant=a.variant, mode="default", cudagraphs="off", device="cpu",
                          wbits=4, abits=8, status="pass", findings=[],
                          compile_profile=one["profile"])
        once = 0 if warm else _one_time_ops(cell, one["audit"])
        est = policy_cost(cell, once, Shape(16, 64, 64), towers, 16)
        real = fresh(STACK, a.variant, str(a.layers), str(warm), json.dumps(TOWERS))
        label = "warmed up" if warm else "cold"
        print(f"  {label:9}: one layer {one['profile']['ops']} ops, phases "
              f"{one['profile']['phases']}; estimate {est['seconds']:.1f} s "
              f"(trace {est['trace_s']:.1f}, backend {est['backend_s']:.1f}); measured stack "
              f"{real['compile_s']:.1f} s (trace {real['trace_s']:.1f}, backend "
              f"{real['backend_s']:.1f}, first call {real['first_call_s']:.1f} s); "
              f"estimate/measured {est['seconds'] / real['compile_s']:.2f}")


if __name__ == "__main__":
    main()
