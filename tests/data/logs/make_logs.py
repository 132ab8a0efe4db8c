"""Regenerate the logs in this folder from real torch runs (CPU): python make_logs.py

Each scenario is a small real program run in a fresh interpreter with TORCH_LOGS set; its
stdout and stderr are saved verbatim as NAME.log. INDEX.md lists every log and its source.
"""
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

SCENARIOS = {
    # the lazy DuQuant probe: a recompile on the module-state guard (the CPU fingerprint)
    "cpu_state_mutation_recompiles": ("recompiles", """
        import torch
        from compilecheck.probes import build, parse_shape, DuQuantConfig
        p = build("buffer-clone", parse_shape("tiny"), DuQuantConfig(), 0, 3)
        c = torch.compile(p.module)
        for x in p.inputs:
            c(x)
    """),
    "cpu_shape_recompile": ("recompiles", """
        import torch
        torch._dynamo.config.automatic_dynamic_shapes = False
        f = torch.compile(lambda x: x.sin() + 1)
        f(torch.randn(4)); f(torch.randn(8))
    """),
    "cpu_graph_break": ("graph_breaks", """
        import torch
        def f(x):
            y = x.cos()
            print("side effect")
            return y + 1
        torch.compile(f)(torch.randn(4))
    """),
    "cpu_recompile_limit": ("recompiles", """
        import torch
        torch._dynamo.config.recompile_limit = 2
        torch._dynamo.config.automatic_dynamic_shapes = False
        f = torch.compile(lambda x, n: x * n)
        for n in range(5):
            f(torch.randn(4), n)
    """),
    "cpu_quantile_too_large": ("", """
        import torch
        def scale(x):
            return torch.quantile(x.abs(), 0.999, dim=0)
        torch.compile(scale)(torch.randn(2**24 + 1, 2))
    """),
    "cpu_allocator_oom": ("", """
        import torch
        x = torch.empty(1 << 46, dtype=torch.uint8)  # 64 TiB: the CPU allocator refuses
    """),
    "cpu_backend_compiler_failed": ("", """
        import torch
        def broken_backend(gm, example_inputs):
            raise RuntimeError("lowering failed for aten.fancy_op")
        torch.compile(lambda x: x * 2, backend=broken_backend)(torch.randn(3))
    """),
    "cpu_data_dependent": ("", """
        import torch
        def f(x):
            n = x.sum().item()
            return x[: int(n)] if n > 0 else x
        torch.compile(f, fullgraph=True)(torch.ones(4))
    """),
    "cpu_accuracy_report": ("", """
        import torch
        ref = torch.randn(4, 4)
        got = ref.clone(); got[0, 0] += 1.0
        print("max abs diff:", (ref - got).abs().max().item())
        torch.testing.assert_close(got, ref)
    """),
    "cpu_clean_run": ("recompiles,graph_breaks", """
        import torch
        f = torch.compile(lambda x: x.relu() * 2)
        for _ in range(3):
            f(torch.randn(8))
        print("all good")
    """),
}


def main():
    env = dict(os.environ, PYTHONPATH=ROOT)
    only = sys.argv[1:]
    for name, (logs, code) in SCENARIOS.items():
        if only and name not in only:
            continue
        e = dict(env)
        if logs:
            e["TORCH_LOGS"] = logs
        p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e,
                           capture_output=True, text=True, timeout=600)
        with open(os.path.join(HERE, name + ".log"), "w") as f:
            f.write(p.stdout + p.stderr)
        print(name, p.returncode)


if __name__ == "__main__":
    main()
