"""Regenerate the `gpu_*` logs of this folder from real torch runs on a CUDA machine:

    python make_gpu_logs.py [OUTDIR] [NAME ...]

Like make_logs.py, each scenario is a small real program run in a fresh interpreter; its
stdout and stderr are saved verbatim as NAME.log (in OUTDIR, default this folder). They need
a GPU and Triton: an illegal memory access in a compiled kernel surfacing at a later kernel
launch, a device-side assert of a compiled kernel, a sync inside a CUDA-graph capture, a
Triton kernel that does not build inside a compiled function. INDEX.md says which torch made
each log.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 200  # seconds a scenario may take (a compile, then the failure)

SCENARIOS = {
    # indirect indexing far out of bounds with inductor's bounds asserts off: the kernel faults
    # and a later launch of a compiled kernel reports it
    "gpu_triton_illegal_access_at_launch": """
        import torch
        print("torch", torch.__version__)
        torch._inductor.config.assert_indirect_indexing = False
        def f(x, idx):
            return (x[idx] + 1).sum(0)
        cf = torch.compile(f)
        x = torch.randn(1024, 8, device="cuda")
        ok = torch.randint(0, 1024, (4096,), device="cuda")
        bad = torch.full((4096,), 1 << 40, device="cuda", dtype=torch.int64)
        cf(x, ok)
        torch.cuda.synchronize()
        for _ in range(20):
            y = cf(x, bad)
        torch.cuda.synchronize()
    """,
    # the same indexing with inductor's bounds asserts on (the default): a device-side assert
    "gpu_compiled_device_assert": """
        import torch
        print("torch", torch.__version__)
        def f(x, idx):
            return (x[idx] + 1).sum(0)
        cf = torch.compile(f)
        x = torch.randn(1024, 8, device="cuda")
        cf(x, torch.randint(0, 1024, (4096,), device="cuda"))
        y = cf(x, torch.full((4096,), 5000, device="cuda", dtype=torch.int64))
        print(y.sum().item())
    """,
    # a host sync (.item()) inside a CUDA-graph capture of a compiled function
    "gpu_capture_sync_not_permitted": """
        import torch
        print("torch", torch.__version__)
        cf = torch.compile(lambda x: (x * 2).sin())
        x = torch.randn(64, device="cuda")
        cf(x)
        torch.cuda.synchronize()
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            y = cf(x)
            print("sum inside capture:", y.sum().item())
    """,
    # a user's Triton kernel that does not build (tl.arange of 3 elements), inside torch.compile
    "gpu_user_triton_kernel_build_error": """
        import torch
        import triton
        import triton.language as tl
        print("torch", torch.__version__, "triton", triton.__version__)
        @triton.jit
        def double(x_ptr, n, BLOCK: tl.constexpr):
            offs = tl.arange(0, 3)
            tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)
        def f(x):
            double[(1,)](x, x.numel(), BLOCK=4)
            return x + 1
        torch.compile(f)(torch.randn(4, device="cuda"))
    """,
    # a user's Triton kernel whose tile needs more shared memory than the device has (256 KiB
    # for a 256x256 fp16 tl.dot on an H200's 227 KiB): Triton's OutOfResources, a build
    # failure whichever frame finds it (issue 28's second pass)
    "gpu_user_triton_kernel_out_of_resources": """
        import torch
        import triton
        import triton.language as tl
        print("torch", torch.__version__, "triton", triton.__version__)
        @triton.jit
        def tile_dot(a_ptr, b_ptr, c_ptr, BLOCK: tl.constexpr):
            r = tl.arange(0, BLOCK)
            a = tl.load(a_ptr + r[:, None] * BLOCK + r[None, :])
            b = tl.load(b_ptr + r[:, None] * BLOCK + r[None, :])
            tl.store(c_ptr + r[:, None] * BLOCK + r[None, :], tl.dot(a, b))
        def f(a, b):
            c = torch.empty_like(a)
            tile_dot[(1,)](a, b, c, BLOCK=256)
            return c + 1
        a = torch.randn(256, 256, device="cuda", dtype=torch.float16)
        print(torch.compile(f)(a, a).sum().item())
    """,
}


def run(name: str, out: str) -> str:
    code = textwrap.dedent(SCENARIOS[name])
    # from a file: Triton's @jit reads its function's source ("@jit functions should be
    # defined in a Python file" under python -c)
    src = os.path.join(tempfile.mkdtemp(), name + ".py")
    with open(src, "w") as f:
        f.write(code)
    try:
        p = subprocess.run([sys.executable, src], capture_output=True, text=True,
                           timeout=TIMEOUT)
        text, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        got = [x.decode() if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr)]
        text, rc = "".join(got) + f"\n[timed out after {TIMEOUT} s]\n", "timeout"
    with open(os.path.join(out, name + ".log"), "w") as f:
        f.write(text)
    return f"{name} {rc}"


def main(argv):
    out = argv[0] if argv and argv[0] not in SCENARIOS else HERE
    names = [a for a in argv if a in SCENARIOS] or list(SCENARIOS)
    os.makedirs(out, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:  # one process each
        for line in pool.map(lambda n: run(n, out), names):
            print(line, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
