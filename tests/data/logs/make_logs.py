"""Regenerate the logs in this folder from real torch runs (CPU): python make_logs.py [NAME ...]

Each scenario is a small real program run in a fresh interpreter with TORCH_LOGS set; its
stdout and stderr are saved verbatim as NAME.log. INDEX.md lists every log and its source.
`cpu271_*` scenarios run under another torch (2.7.1, the users' pin): set TORCH271_PYTHON to
its interpreter (`python3 -m venv V && V/bin/pip install torch==2.7.1`); without it they are
skipped.
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

    # ------------------------------------------------------------ issue 28: guard records
    # module state changed in forward (a counter), TORCH_LOGS=recompiles_verbose
    "cpu_guard_self_counter_verbose": ("recompiles_verbose", """
        import torch
        class Counter(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(4, 4)
                self.calls = 0
            def forward(self, x):
                self.calls += 1
                return self.lin(x) * self.calls
        m = torch.compile(Counter())
        for _ in range(4):
            m(torch.randn(2, 4))
    """),
    # module state reached through an argument: a KV cache's fill level
    "cpu_guard_arg_module_kv": ("recompiles", """
        import torch
        class KVCache(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.size = 0
                self.register_buffer("k", torch.zeros(8, 4))
            def append(self, k):
                self.k[self.size] = k
                self.size += 1
        class Attn(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.kv_cache = KVCache()
        class Decoder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = torch.nn.ModuleDict({"attn": Attn()})
        @torch.compile
        def decode_step(x, model):
            cache = model.layers["attn"].kv_cache
            cache.append(x)
            return cache.k[: cache.size].sum(0)
        model = Decoder()
        for _ in range(4):
            decode_step(torch.randn(4), model)
    """),
    # optimizer state: a user's optimizer keeping a plain-int step count, its step compiled
    "cpu_guard_optimizer_step_verbose": ("recompiles_verbose", """
        import torch
        class SGDCount(torch.optim.Optimizer):
            def __init__(self, params, lr=0.1):
                super().__init__(params, dict(lr=lr))
            @torch.no_grad()
            def step(self):
                for group in self.param_groups:
                    for p in group["params"]:
                        state = self.state[p]
                        if len(state) == 0:
                            state["step"] = 0
                        state["step"] += 1
                        p.add_(p.grad, alpha=-group["lr"] / state["step"])
        w = torch.nn.Parameter(torch.randn(4))
        opt = SGDCount([w])
        step = torch.compile(opt.step)
        for _ in range(4):
            (w * w).sum().backward()
            step()
            opt.zero_grad()
    """),
    # a global config value changed between calls: a recompile, not module state
    "cpu_guard_global_flag": ("recompiles", """
        import torch
        class Config:
            use_gelu = True
        CONFIG = Config()
        @torch.compile
        def act(x):
            return torch.nn.functional.gelu(x) if CONFIG.use_gelu else torch.relu(x)
        act(torch.randn(4))
        CONFIG.use_gelu = False
        act(torch.randn(4))
    """),
    # ------------------------------------------------------------ torch's structured error
    # a custom op without a fake implementation (torch 2.13 explains it: Explanation, Hint)
    "cpu_custom_op_no_fake": ("", """
        import torch
        @torch.library.custom_op("mylib::scale_rows", mutates_args=())
        def scale_rows(x: torch.Tensor) -> torch.Tensor:
            return x * 2
        def f(x):
            return scale_rows(x).sin()
        torch.compile(f)(torch.randn(4))
    """),
    # ------------------------------------------------------------ the phase of an error
    # an index past the end: raised by the compiled kernel's bounds check while it runs
    "cpu_runtime_index_out_of_bounds": ("", """
        import torch
        def gather(x, idx):
            return x[idx] * 2
        cf = torch.compile(gather)
        x = torch.randn(4)
        cf(x, torch.tensor([0, 1]))
        cf(x, torch.tensor([0, 9]))
    """),
    # no C++ compiler: inductor's build fails
    "cpu_build_no_cxx_compiler": ("", """
        import torch
        torch._inductor.config.cpp.cxx = ("no-such-c++-compiler",)
        torch.compile(lambda x: x.sin() + 1)(torch.randn(8))
    """),
    # inductor's nan_asserts: a NaN in a compiled buffer, raised by the generated code
    "cpu_nan_asserts_compiled": ("", """
        import torch
        torch._inductor.config.nan_asserts = True
        def f(x):
            return torch.log(x - 1.0) * 2
        torch.compile(f)(torch.rand(8))
    """),
    # ------------------------------------------------------------ compile figures
    # a Python loop unrolled into the graph: the first call against an eager one, and torch's
    # compile-time table
    "cpu_slow_compile_unrolled_loop": ("", """
        import time
        import torch
        from torch._dynamo.utils import compile_times
        ws = [torch.randn(16, 16) for _ in range(120)]
        def f(x):
            for w in ws:
                x = torch.tanh(x @ w) + x
            return x
        x = torch.randn(4, 16)
        t = time.perf_counter(); f(x); eager = time.perf_counter() - t
        cf = torch.compile(f)
        t = time.perf_counter(); cf(x); first = time.perf_counter() - t
        t = time.perf_counter(); cf(x); second = time.perf_counter() - t
        print(f"eager call: {eager * 1000:.2f} ms")
        print(f"first compiled call (includes compilation): {first:.2f} s")
        print(f"second compiled call: {second * 1000:.2f} ms")
        print(compile_times())
    """),
    # a short compile and torch's table: nothing slow
    "cpu_compile_times_clean": ("", """
        import torch
        from torch._dynamo.utils import compile_times
        torch.compile(lambda x: x.relu() * 2)(torch.randn(8))
        print(compile_times())
    """),
    # ------------------------------------------------------------ printed outputs
    # torch.sinh near float32's limit: eager finite, compiled inf (pytorch#183763, on CPU),
    # printed beside their labels, each over two lines
    "cpu_sinh_overflow_printed": ("", """
        import torch
        def fn(x):
            return torch.sinh(x)
        x = torch.tensor([88.85, 89.2, 88.95, -89.0, 1.5, -2.0, 10.0, 88.0, 0.5, 87.9])
        print(f"eager out: {fn(x)}")
        print(f"compiled out: {torch.compile(fn, fullgraph=True)(x)}")
    """),
    # dropout under the same seed: inductor's random numbers are not eager's (fallback_random
    # off), printed as ref/res; then a relu whose ref and res agree
    "cpu_dropout_rng_ref_res": ("", """
        import torch
        def fn(x):
            return torch.nn.functional.dropout(x, p=0.5, training=True)
        x = torch.ones(2, 8)
        print("torch.compile(fn) against eager, same seed")
        torch.manual_seed(0)
        ref = fn(x)
        torch.manual_seed(0)
        res = torch.compile(fn)(x)
        print("ref:", ref)
        print("res:", res)
    """),
    # eager and compiled outputs that agree: nothing to claim
    "cpu_printed_outputs_agree": ("", """
        import torch
        def fn(x):
            return torch.relu(x - 0.5) * 3
        x = torch.linspace(0, 1, 12)
        print("eager output:", fn(x))
        print("compiled output:", torch.compile(fn)(x))
    """),
    # ------------------------------------------------------------ an eager API failing
    # a compiled module's state_dict (keys under "_orig_mod.") loaded into a plain module:
    # load_state_dict raises in eager code, no compile frame; nothing to claim
    "cpu_eager_load_state_dict_orig_mod": ("", """
        import torch
        model = torch.nn.Linear(4, 2)
        compiled = torch.compile(model)
        compiled(torch.randn(3, 4))
        torch.nn.Linear(4, 2).load_state_dict(compiled.state_dict())
    """),
    # ------------------------------------------------------------ faulthandler's dumps
    # a segfault inside a compiled function (ctypes reads address 0 after a graph break),
    # dumped by faulthandler: "Fatal Python error", every thread's stack, extension modules
    "cpu_faulthandler_segfault": ("", """
        import ctypes, faulthandler
        import torch
        faulthandler.enable()
        def step(x):
            y = torch.relu(x) * 2
            ctypes.string_at(0)
            return y
        torch.compile(step)(torch.randn(4))
    """),
    # the same with one thread's stack ("Stack (most recent call first):"); see CUTS
    "cpu_faulthandler_segfault_one_thread": ("", """
        import ctypes, faulthandler
        import torch
        faulthandler.enable(all_threads=False)
        def step(x):
            y = torch.relu(x) * 2
            ctypes.string_at(0)
            return y
        torch.compile(step)(torch.randn(4))
    """),
    # faulthandler's watchdog: a compiled step that hangs, dumped after 25 s (a hang,
    # not a crash, though the same thread headers follow "Timeout (0:00:25)!")
    "cpu_faulthandler_watchdog_timeout": ("", """
        import faulthandler, time
        import torch
        def step(x):
            y = torch.relu(x) * 2
            time.sleep(120)
            return y
        faulthandler.dump_traceback_later(25, exit=True)
        torch.compile(step)(torch.randn(4))
    """),
}
# excerpts of the logs above as users paste them: name -> (log, what is kept)
CUTS = {
    # the stack only: faulthandler's "Fatal Python error" header and module list not copied
    "cpu_faulthandler_stack_only": (
        "cpu_faulthandler_segfault_one_thread",
        lambda text: "".join(line for line in text.splitlines(True)
                             if not line.startswith(("Fatal Python error", "Extension modules"))
                             ).strip() + "\n"),
}
# the same programs under torch 2.7.1 (TORCH271_PYTHON)
for _name in ("cpu_guard_self_counter_verbose", "cpu_guard_optimizer_step_verbose",
              "cpu_guard_global_flag", "cpu_custom_op_no_fake"):
    SCENARIOS[_name.replace("cpu_", "cpu271_", 1)] = SCENARIOS[_name]


def main():
    env = dict(os.environ, PYTHONPATH=ROOT)
    only = sys.argv[1:]
    for name, (logs, code) in SCENARIOS.items():
        if only and name not in only:
            continue
        python = sys.executable
        if name.startswith("cpu271_"):
            python = os.environ.get("TORCH271_PYTHON")
            if not python:
                print(name, "skipped: TORCH271_PYTHON is not set")
                continue
        e = dict(env)
        if logs:
            e["TORCH_LOGS"] = logs
        p = subprocess.run([python, "-c", textwrap.dedent(code)], env=e,
                           capture_output=True, text=True, timeout=600)
        with open(os.path.join(HERE, name + ".log"), "w") as f:
            f.write(p.stdout + p.stderr)
        print(name, p.returncode)
    for name, (source, keep) in CUTS.items():
        if only and name not in only and source not in only:
            continue
        with open(os.path.join(HERE, source + ".log")) as f:
            text = keep(f.read())
        with open(os.path.join(HERE, name + ".log"), "w") as f:
            f.write(text)
        print(name, "cut from", source)


if __name__ == "__main__":
    main()
