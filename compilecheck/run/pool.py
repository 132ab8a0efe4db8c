"""Isolated workers: each cell runs in a long-lived worker process; a crash or a hang costs
only its own cell (the worker is killed with its children and a fresh one takes the next)."""
from __future__ import annotations

import dataclasses
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

from ..env.files import scrub_builds
from .workerenv import worker_env
from ..plan.spec import CellSpec

START_TIMEOUT_S = 120.0


@dataclasses.dataclass
class RawResult:
    spec: CellSpec
    outcome: str  # ok | crash | timeout | interrupted | skip | internal
    obs: dict | None = None
    detail: str = ""  # signal / exit code / reason
    stderr_tail: str = ""
    wall_s: float = 0.0
    same_as: CellSpec | None = None  # the cell that measured it (the same experiment)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Worker:
    """One worker process and its pipes."""

    def __init__(self, env: dict, log_dir: str):
        self.log = tempfile.NamedTemporaryFile("w+b", dir=log_dir, prefix="worker-",
                                               suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "compilecheck.run.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env=env, start_new_session=True, cwd=os.getcwd(),
        )
        self._buf = b""
        self.progress: dict | None = None  # the running cell's last progress line
        self.ready = False
        self.hello: dict = {}  # what the worker said when it was ready (its environment)

    def _readline(self, deadline) -> bytes | None:
        """A full line, b"" on EOF, None on time-out; ``deadline``: a monotonic time or a
        function returning it (asked again while waiting: a cell's time can be raised)."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = (deadline() if callable(deadline) else deadline) - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if not r:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b""
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            self.log.flush()
            with open(self.log.name, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def run(self, spec: CellSpec, limit, on_progress=None) -> RawResult:
        """``spec`` on this worker; ``limit()``: its seconds (asked while it runs);
        ``on_progress(spec, progress)`` for each progress line the worker sends."""
        t0 = time.monotonic()
        if not self.ready:  # the worker's start (importing torch) is not the cell's time
            line = self._readline(t0 + START_TIMEOUT_S)
            if not line:
                return self._dead(spec, line, t0, START_TIMEOUT_S)
            try:
                self.hello = json.loads(line)
            except ValueError:
                self.hello = {}
            self.ready = True
            t0 = time.monotonic()
        self.progress = None
        try:
            self.proc.stdin.write(spec.to_json().encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._dead(spec, b"", t0, limit())
        while True:
            line = self._readline(lambda: t0 + limit())
            if not line:
                return self._dead(spec, line, t0, limit())
            obs = json.loads(line)
            if "progress" not in obs:
                break
            if obs["progress"].get("cell") == spec.label:  # not a late line of the last cell
                self.progress = obs["progress"]
                if on_progress:
                    on_progress(spec, self.progress)
        if "internal_error" in obs:  # a bug of compilecheck's, not the module's
            return RawResult(spec, "internal", obs, "internal error", wall_s=time.monotonic() - t0)
        return RawResult(spec, "ok", obs, wall_s=time.monotonic() - t0)

    def _dead(self, spec, line, t0, limit: float) -> RawResult:
        wall = time.monotonic() - t0
        if line is not None:  # it died: how
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # and everything it started; then what the kill cut short mid-build
        scrub_builds(self.hello.get("inductor_cache"), wall + 5)
        if line is None:  # time-out
            return RawResult(spec, "timeout", {"timed_out": self.progress or {},
                                               "timeout_s": round(limit, 1)},
                             f"no answer within {wall:.0f} s", self.stderr_tail(), wall)
        code = self.proc.returncode
        detail = _signal_name(code) if code is not None and code < 0 else f"exit code {code}"
        return RawResult(spec, "crash", None, detail, self.stderr_tail(), wall)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        """Done with this worker: its answers are in, so it is killed rather than waited for
        (a torch process takes seconds to exit politely)."""
        self.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.log.close()
        except OSError:
            pass


class Pool:
    """Runs cells on ``jobs`` workers; cells that need their own environment (the
    suppress-errors rung) get workers started with it. Workers can be started before the
    cells are known (``prestart``), so importing torch overlaps the caller's own start-up."""

    def __init__(self, jobs: int, timeout: float, device: str = "cpu"):
        self.jobs = max(1, jobs)
        self.device = device
        self.timeout = timeout
        self.threads = max(1, (os.cpu_count() or 1) // self.jobs)
        self.log_dir = tempfile.mkdtemp(prefix="compilecheck-")
        self._workers: list[Worker] = []  # every worker started (its log is kept to the end)
        self._idle: dict[tuple, list[Worker]] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.interrupted = False

    def prestart(self, envs) -> "Pool":
        for extra in envs:
            self._idle.setdefault(tuple(extra), []).append(self._new_worker(tuple(extra)))
        return self

    def _new_worker(self, extra_env: tuple) -> Worker:
        w = Worker(worker_env(extra_env, self.threads, self.jobs, self.device), self.log_dir)
        with self._lock:
            self._workers.append(w)
        return w

    def _take(self, env: tuple) -> Worker:
        with self._lock:
            idle = self._idle.get(env) or []
            while idle:
                w = idle.pop(0)
                if w.alive:
                    return w
        return self._new_worker(env)

    def _give_back(self, env: tuple, w: Worker):
        with self._lock:
            self._idle.setdefault(env, []).append(w)

    def run(self, specs: list[CellSpec], on_result=None, on_progress=None,
            timeout_for=None) -> list[RawResult]:
        """Every spec on the workers; ``on_result(raw)`` as each ends, ``on_progress(spec,
        progress)`` while it runs; ``timeout_for(spec)``: its seconds (asked again while it
        runs), else the pool's."""
        on_result = on_result or (lambda r: None)
        timeout_for = timeout_for or (lambda spec: self.timeout)
        todo: queue.Queue = queue.Queue()
        for i, s in enumerate(specs):
            todo.put((i, s))
        results: list[RawResult | None] = [None] * len(specs)

        def loop():
            while not self.stopping.is_set():
                try:
                    i, spec = todo.get_nowait()
                except queue.Empty:
                    return
                w = self._take(spec.env)
                r = w.run(spec, lambda spec=spec: timeout_for(spec), on_progress)
                if self.stopping.is_set() and r.outcome != "ok":
                    r = RawResult(spec, "interrupted", None, "interrupted")
                if r.outcome in ("ok", "internal"):
                    self._give_back(spec.env, w)
                else:  # crashed, hung or interrupted: a fresh worker takes the next cell
                    w.close()
                results[i] = r
                on_result(r)

        threads = [threading.Thread(target=loop, daemon=True)
                   for _ in range(min(self.jobs, len(specs)))]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)
        except BaseException:  # Ctrl-C / SIGTERM: stop the workers, keep what finished
            self.stop()
            self.interrupted = True
            for t in threads:
                t.join(15)
        finally:
            for i, r in enumerate(results):
                if r is None:
                    results[i] = RawResult(specs[i], "interrupted", None, "interrupted")
        return results  # type: ignore[return-value]

    def retire(self, env: tuple):
        """Close the idle workers started with ``env`` now (a one-off environment, such as
        a traced cell's: no later cell needs that worker)."""
        with self._lock:
            idle = self._idle.pop(tuple(env), [])
        for w in idle:
            w.close()

    def stop(self):
        """Stop every worker and its children now (Ctrl-C, SIGTERM)."""
        self.stopping.set()
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            w.kill()

    def environment(self) -> dict | None:
        """The environment block a worker that started reported (torch and its config are
        loaded there, so it costs the parent nothing); None if none started."""
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            env = w.hello.get("environment")
            if env and "environment_error" not in env:
                return dict(env)
        return None

    def save_logs(self, path: str):
        """Append every worker's output (what torch logged, cell by cell) to ``path``."""
        with self._lock:
            names = [w.log.name for w in self._workers]
        with open(path, "ab") as out:
            for name in names:
                try:
                    with open(name, "rb") as f:
                        out.write(f"==> worker log {os.path.basename(name)} <==\n".encode())
                        out.write(f.read())
                except OSError:
                    continue

    def close(self):
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            w.close()
        import shutil

        shutil.rmtree(self.log_dir, ignore_errors=True)
