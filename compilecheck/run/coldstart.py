"""The cold-start measurement: each row of vocab/coldstart.py in a fresh process of its own
(run/coldrows.py) with its own TORCHINDUCTOR_CACHE_DIR, TRITON_CACHE_DIR and temporary folder
(torch's C++ precompiled headers live under the temporary folder whatever the variables say),
on the diagnosed module, its inputs and the target mode. A crash or a hang costs only its
row: the process group is killed at the time-out and the row says what happened."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ..plan.spec import CellSpec
from ..vocab.coldstart import ROWS
from .workerenv import worker_env

TEMP_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


def default_cache_dir() -> tuple[str, bool]:
    """Where torch keeps its compile caches for this user here (torch's own function), and
    whether that is under a temporary folder."""
    path = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if not path:
        try:
            from torch._inductor.runtime.cache_dir_utils import default_cache_dir as torch_dir

            path = torch_dir()
        except Exception:  # an older torch, or no user name to put in the path
            path = os.path.join(tempfile.gettempdir(), "torchinductor_<user>")
    real = os.path.realpath(path)
    temps = {os.path.realpath(tempfile.gettempdir()), *TEMP_ROOTS}
    return path, any(real == t or real.startswith(t.rstrip("/") + "/") for t in temps)


def _folders(workdir: str, name: str, own_temp: bool) -> dict:
    root = os.path.join(workdir, "cache-" + name)
    tmp = os.path.join(root, "tmp")
    os.makedirs(tmp, exist_ok=True)
    out = {"TORCHINDUCTOR_CACHE_DIR": root, "TRITON_CACHE_DIR": os.path.join(root, "triton")}
    return {**out, "TMPDIR": tmp} if own_temp else out


TICK_S = 60.0  # a row still running says so this often (on_tick)


def run_process(row: str, spec: CellSpec, workdir: str, cache: str, timeout: float,
                own_temp: bool = True, region: dict | None = None, on_tick=None) -> dict:
    """``row`` in a fresh process on the cache folders named ``cache``; its result dict.
    ``own_temp`` False keeps this process's temporary folder (and the C++ precompiled headers
    already there): quicker, the first call then leaves out that one-time cost."""
    out = os.path.join(workdir, f"{row}.json")
    log_path = os.path.join(workdir, f"{row}.log")
    env = worker_env(spec.env, threads=os.cpu_count() or 1, jobs=1, device=spec.device)
    env.update(_folders(workdir, cache, own_temp))
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        argv = [sys.executable, "-m", "compilecheck.run.coldrows", row, spec.to_json(),
                workdir, out, *([json.dumps(region)] if region else [])]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True)
        rc = None
        while rc is None:
            left = timeout - (time.monotonic() - t0)
            try:
                rc = proc.wait(timeout=max(0.0, min(left, TICK_S)))
            except subprocess.TimeoutExpired:
                if time.monotonic() - t0 < timeout:
                    if on_tick:
                        on_tick(row, time.monotonic() - t0, timeout)
                    continue
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"status": "timeout", "error": f"no answer after {timeout:g} s: killed "
                        "(out of time: not a verdict on this row; --timeout raises it)",
                        "process_s": round(time.monotonic() - t0, 1)}
    wall = round(time.monotonic() - t0, 1)
    try:
        with open(out, encoding="utf-8") as f:
            res = json.load(f)
    except (OSError, ValueError):
        with open(log_path, "rb") as f:
            tail = f.read()[-600:].decode("utf-8", "replace").strip()
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit code {rc}"
        res = {"status": "crash", "error": f"the process died ({how}): {tail}"}
    res["process_s"] = wall
    return res


def target_spec(options) -> CellSpec:
    """The diagnosed subject in the target mode: the user's first probe (or the built-in
    policy), else the built-in layer's deployed variant."""
    variant = "deployed" if "deployed" in options.variants else options.variants[0]
    probe = options.probes[0] if options.probes else None
    if probe:
        from ..plan.userprobes import factory_name

        variant = factory_name(probe)
    return CellSpec(variant=variant, mode=options.target_mode, cudagraphs=True,
                    device=options.device, shape=options.shape, config=options.config,
                    seed=options.seed, iters=options.iters, probe=probe)


def measure(spec: CellSpec, timeout: float, workdir: str | None = None, on_row=None,
            only: tuple = (), own_temp: bool = True, region: dict | None = None,
            on_tick=None) -> list[dict]:
    """Every row (or those named in ``only``), one fresh process each (two for ``aot``: its
    build step, then the load), in order; ``on_row(row_dict)`` after each. ``region``: the
    repeated region the compile profile named (what the regional rows compile)."""
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="compilecheck-coldstart-")
    rows: list[dict] = []
    done: dict = {}
    try:
        for entry in ROWS:
            if only and entry.name not in only:
                continue
            need = done.get(entry.needs) if entry.needs else None
            if entry.needs and (need is None or need["status"] != "ok"):
                res = {"status": "skip", "error": f"needs the {entry.needs} row, which "
                       f"{'did not run' if need is None else 'was not measured'}"}
            else:
                res = {}
                if entry.name == "aot":  # the build step the user runs once, elsewhere
                    build = run_process("aot-save", spec, workdir, "aot-build", timeout,
                                        own_temp, on_tick=on_tick)
                    res["build_s"] = build.get("build_s")
                    if build["status"] != "ok":
                        res.update(status=build["status"], error="build step: " +
                                   build.get("error", ""))
                if not res.get("status"):
                    res.update(run_process(entry.name, spec, workdir,
                                           entry.cache if entry.cache != "own" else entry.name,
                                           timeout, own_temp, region, on_tick))
            res = {"name": entry.name, "measured": res.get("status") == "ok", **res}
            if entry.name == "warm-cache":
                res["default_cache_dir"], res["default_in_temp"] = default_cache_dir()
            done[entry.name] = res
            rows.append(res)
            if on_row:
                on_row(res)
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    return rows
