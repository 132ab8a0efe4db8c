"""The worker process: imports torch once, then runs cells sent as JSON lines on stdin.

Replies go to a private copy of the original stdout; fd 1 itself is pointed at stderr, so
whatever torch or the probe prints cannot corrupt the protocol.
"""
from __future__ import annotations

import faulthandler
import json
import os
import resource
import sys
import traceback


def limit_memory():
    """Cap the address space (CPU cells only: CUDA maps far more than it uses), so that
    exhausting memory is an exception the cell reports rather than the OOM killer."""
    limit = os.environ.get("COMPILECHECK_WORKER_MAX_BYTES")
    if limit and resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), resource.RLIM_INFINITY))


def _inductor_cache_dir() -> str:
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir
    except ImportError:  # older layouts
        from torch._inductor.runtime.runtime_utils import cache_dir
    return cache_dir()


def warm_compiler(device: str):
    """The first compile in a process pays inductor's one-time costs (its code generators,
    the C++ toolchain and ISA checks, the headers; on a GPU Triton's start): 15-25 s on a
    2-core CPU with a cold cache, 3 s with a warm one. Pay them here, before the first cell,
    one worker at a time (a lock in inductor's cache folder), so that the next worker finds
    them cached and no cell's compile time carries them. Once a cache folder is warm (a mark
    left there), workers warm up side by side."""
    import fcntl

    import torch

    lock = None
    try:
        folder = _inductor_cache_dir()
        done = os.path.join(folder, "compilecheck-warm.done")
        if not os.path.exists(done):  # a cold cache: one worker at a time
            os.makedirs(folder, exist_ok=True)
            lock = open(os.path.join(folder, "compilecheck-warm.lock"), "w")
    except OSError:
        done = None
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if device in ("auto", "cuda"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        x = torch.randn(4, 4, device=device)
        torch.compile(lambda t: (t * 2 + 1).relu())(x)
        if done and lock is not None:
            open(done, "w").close()
    except Exception as e:  # the cells will meet it again, and report it
        print(f"compilecheck worker: warming the compiler failed: {e}", file=sys.stderr)
    finally:
        torch._dynamo.reset()
        if lock is not None:
            lock.close()


def main() -> None:
    import time

    started = time.monotonic()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    faulthandler.enable()  # a segfault or abort leaves its Python stack in the worker's log
    import torch

    threads = os.environ.get("COMPILECHECK_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    from .cell import run_cell
    from ..observe.records import describe_error, install_log_capture
    from ..plan.spec import CellSpec

    install_log_capture()
    import torch._dynamo  # noqa: F401  (the compile stack, loaded before the first cell)
    import torch._inductor.compile_fx  # noqa: F401

    imported = time.monotonic()
    try:  # a kernel a killed build left truncated fails every compile that loads it
        from ..env.files import scrub_truncated

        scrub_truncated(_inductor_cache_dir())
    except Exception:
        pass
    if not os.environ.get("TORCH_TRACE"):  # a traced worker's log holds its cell only
        warm_compiler(os.environ.get("COMPILECHECK_DEVICE", "cpu"))
    print(f"compilecheck worker: ready: torch {torch.__version__} imported in "
          f"{imported - started:.1f} s, compiler warmed in {time.monotonic() - imported:.1f} s",
          file=sys.stderr, flush=True)

    from ..env.environment import environment

    device = os.environ.get("COMPILECHECK_DEVICE", "cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:  # the environment block, for the report: torch and its config are loaded here
        env = environment(device)
    except Exception as e:
        env = {"environment_error": f"{type(e).__name__}: {e}"}
    try:
        cache = _inductor_cache_dir()
    except Exception:  # an older layout: nothing to scrub after a kill
        cache = None
    proto.write(json.dumps({"ready": True, "environment": env, "inductor_cache": cache},
                           default=str) + "\n")
    import threading

    from .phase import PhaseSampler

    lock = threading.Lock()

    def say(message: dict):  # one JSON line at a time: the sampler's and the answers
        with lock:
            proto.write(json.dumps(message, default=str) + "\n")

    sampler = PhaseSampler(lambda state: say({"progress": state}))
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            spec = CellSpec.from_json(line)
            if spec.device == "cpu":
                limit_memory()
            print(f"compilecheck worker: cell {spec.label}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            sampler.start(spec.label)
            try:
                obs = run_cell(spec)
            finally:
                sampler.stop()
            print(f"compilecheck worker: cell {spec.label}: done in {time.monotonic() - t0:.2f} s",
                  file=sys.stderr, flush=True)
        except BaseException as e:  # an internal error still answers, and the worker lives on
            traceback.print_exc()  # into the worker's log (diagnose --log keeps it)
            obs = {"internal_error": describe_error(e, "internal")}
        err = obs.get("error")
        if err:  # in the worker's log too (diagnose --log), where explain can read it
            print(f"compilecheck worker: cell {spec.label}: {err['phase']} error at policy "
                  f"step {err['step']}:\n{err['traceback']}", file=sys.stderr, flush=True)
        say(obs)


if __name__ == "__main__":
    main()
