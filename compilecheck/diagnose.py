"""plan -> run -> classify -> decide: one call that returns a Report."""
from __future__ import annotations

import signal
import sys
import threading
import time

from .classify import cells as cls_
from .classify.results import (holders_of, needed_deferred, repeated_region,  # noqa: F401
                               state_writes)
from .decide.estimate import estimate
from .decide.timeouts import Sizing, rerun_command
from .env.knobs import lint, set_knobs
from .decide.ladder import decide
from .plan.cells import DiagnoseOptions, on_holders, plan as make_plan
from .report.report import Report
from .run.pool import Pool, RawResult
from .plan.schedule import as_alias, plan_runs


class Progress:
    """One line per finished cell on stderr; while a cell runs past QUIET_S, what it is doing
    and for how long (the worker's phase, run/phase.py) at least every EVERY_S seconds."""

    QUIET_S = 30.0  # a cell shorter than this says nothing until it ends
    EVERY_S = 60.0
    CHANGE_S = 15.0  # a change of phase is said at most this often

    def __init__(self, total: int, quiet: bool = False, stream=None, limit=None):
        self.total, self.done, self.quiet = total, 0, quiet
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()
        self.limit = limit  # spec -> its time limit, for the progress lines
        self._said: dict = {}  # cell label -> (when, phase) of its last progress line
        self._lock = threading.Lock()

    def running(self, spec, p: dict):
        """A worker's progress line for ``spec`` (from the pool's threads)."""
        if self.quiet or (p.get("elapsed_s") or 0) < self.QUIET_S:
            return
        now = time.monotonic()
        with self._lock:
            when, phase = self._said.get(spec.label, (None, None))
            due = when is None or now - when >= self.EVERY_S or \
                (p.get("phase") != phase and now - when >= self.CHANGE_S)
            if not due:
                return
            self._said[spec.label] = (now, p.get("phase"))
        what = p.get("phase") or "working"
        if what == "tracing" and p.get("tracing"):
            what += f" {p['tracing']}"
        line = f"  ... {spec.label}: {what} for {p.get('phase_s', 0):.0f} s"
        if p.get("compile_s"):
            line += f"; compiling for {p['compile_s']:.0f} s"
            if p.get("graphs"):
                line += f", {p['graphs']} graph(s) to inductor so far"
        line += f"; {p.get('elapsed_s', 0):.0f} s in the cell"
        if self.limit is not None:
            line += f" of {self.limit(spec):.0f} s allowed"
        self.say(line + f"  [{now - self.t0:.0f}s]")

    def say(self, text: str):
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def __call__(self, raw: RawResult):
        self.done += 1
        cell = cls_.classify(raw)
        classes = ", ".join(dict.fromkeys(cell.classes))
        self.say(f"[{self.done}/{self.total}] {raw.spec.label}: {cell.status}"
                 f"{' (' + classes + ')' if classes else ''}"
                 f"{f' in {raw.wall_s:.1f}s' if raw.wall_s else ''}"
                 f"  [{time.monotonic() - self.t0:.0f}s]")


def start_pool(options: DiagnoseOptions) -> Pool:
    """Workers for ``options``, started now: they import torch while the caller goes on."""
    jobs = options.effective_jobs
    return Pool(jobs, options.timeout, options.device).prestart([()] * jobs)


def diagnose(options: DiagnoseOptions, quiet: bool = False, environment: dict | None = None,
             pool: Pool | None = None, log_path: str | None = None) -> Report:
    import datetime

    from .env.environment import environment as env_block

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    the_plan = make_plan(options)
    runnable, aliases = plan_runs([c for c in the_plan.cells if c.skip_reason is None],
                                  the_plan.modes)
    sizing = Sizing(options, the_plan)
    progress = Progress(len(the_plan.cells) - len(aliases), quiet, limit=sizing.timeout_for)
    pool = pool or start_pool(options)
    jobs = min(pool.jobs, max(1, len(runnable)))
    skipped_n = sum(1 for c in the_plan.cells if c.skip_reason is not None)
    progress.say(f"compilecheck: {len(the_plan.cells)} cells ({len(runnable)} to run, "
                 f"{len(aliases)} the same experiment as one of those, {skipped_n} skipped "
                 f"here) on {options.device}, {jobs} worker(s)")
    results: dict = {}
    skipped: dict = {}
    for spec in the_plan.cells:
        if spec.skip_reason is not None:
            results[spec] = cls_.skipped(spec)
            skipped[spec.skip_reason] = skipped.get(spec.skip_reason, 0) + 1
    for reason, n in skipped.items():
        progress.done += n
        progress.say(f"[{progress.done}/{progress.total}] {n} cell(s) skip: {reason}")
    env_box: dict = {}

    def background():  # the knob lint reads torch's sources: while the cells run
        env_box["knobs"] = lint()

    env_thread = threading.Thread(target=background, daemon=True)

    def on_result(raw):  # the workers are up: their start no longer needs the cores
        if not env_thread.is_alive() and env_thread.ident is None:
            env_thread.start()
        if raw.spec is the_plan.sizing:
            progress.say(sizing.measured(raw))
            return
        progress(raw)
    run_kw = dict(on_progress=progress.running, timeout_for=sizing.timeout_for)
    if the_plan.sizing is not None:  # first: its answer sets the whole policy's time
        runnable = [the_plan.sizing, *runnable]
        why = (f"its estimate says what a cell that runs out of --timeout "
               f"{options.timeout:g} needs" if options.timeout_given else
               "its compile profile and the estimate set their time; --timeout S to choose it")
        progress.say(f"compilecheck: sizing the whole policy's cells first: "
                     f"{the_plan.sizing.scope} compiled alone ({why})")
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (e.g. inside a test runner's thread)
        previous = None
    specs = list(the_plan.cells)
    try:
        for r in pool.run(runnable, on_result=on_result, **run_kw):
            if r.spec is not the_plan.sizing:
                results[r.spec] = r
        for alias, measured in aliases.items():
            results[alias] = as_alias(results[measured], alias)
        held = the_plan.deferred.get("holders") or []
        if held and not pool.interrupted:
            held = on_holders(held, holders_of(results))
            on = sum(1 for c in held if c.scope != "whole")
            progress.total += len(held)
            progress.say(f"compilecheck: {len(held)} more cell(s), beyond the target mode: "
                         + (f"{on} on one module of each kind that holds forward's state "
                            f"(state audit), {len(held) - on} on the whole" if on else
                            "on the whole module (no module inside it answers for its "
                            "state alone)"))
            for r in pool.run(held, on_result=progress, **run_kw):
                results[r.spec] = r
            specs += held
        extra = needed_deferred(the_plan, results)
        if extra and not pool.interrupted:
            progress.total += len(extra)
            progress.say(f"compilecheck: {len(extra)} more cell(s): the suppress-errors rung "
                         "(the cell it wraps failed to compile)")
            for r in pool.run(extra, on_result=progress, **run_kw):
                results[r.spec] = r
            specs += extra
        cells = cls_.predict([cls_.classify(results[s]) for s in specs])
        chosen, traces = [], None
        if options.ticket:
            chosen = ticket_failures(cells, specs, results)
            if chosen and not pool.interrupted:
                traces = record_traces(pool, chosen, options.ticket, progress)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        pool.stop()  # answers are in: the workers go, their logs stay until close()
        if log_path:
            pool.save_logs(log_path)
        pool.close()
    if env_thread.ident is None:  # no cell ran
        env_thread.start()
    env_thread.join()
    knobs = env_box.get("knobs") if "knobs" in env_box else lint()
    ladder, recommendation, decided = decide(the_plan, list(zip(cells, specs)), knobs,
                                             estimate_s=sizing.estimate_s, rerun=rerun_command)
    if environment is None:  # what a worker reported, with this process's own words
        environment = pool.environment()
        if environment is not None:
            environment.update(variables=set_knobs(), argv=" ".join(sys.argv[1:]))
        else:  # no worker started: ask torch here
            environment = env_block(options.device)
    env = dict(environment)
    env.update(shape=options.shape, seed=options.seed, iters=options.iters, date=started)
    report = Report(env, knobs, cells, ladder, recommendation, the_plan.target_mode,
                    interrupted=pool.interrupted, state_writes=state_writes(results),
                    judged_patterns=options.patterns if options.judge_patterns else ("loop",))
    report.estimate = sizing.annotate(estimate(report, decided, the_plan, options))
    if options.cold_start and not pool.interrupted:
        report.cold_start, report.cold_start_recommendation = cold_start(
            options, progress, timeout=sizing.whole_s,
            region=repeated_region(results, the_plan.target_mode))
    if options.ticket:
        from .report import ticket

        ticket.write(options.ticket, report, chosen, traces, options.timeout)
        progress.say(f"compilecheck: ticket folder {options.ticket}: the reports, "
                     f"{len(chosen)} repro script(s), README.md")
    return report


def ticket_failures(cells: list, specs: list, results: dict) -> list:
    """The distinct failures a ticket reproduces (report/ticket.py chooses them)."""
    from .report.ticket import failures

    steps = {s: ((r.obs or {}).get("error") or {}).get("step") for s, r in results.items()}
    return failures(cells, specs, state_writes(results), steps)


def record_traces(pool: Pool, chosen: list, folder: str, progress: Progress) -> list:
    """Each failure's cell once more in a worker of its own, under TORCH_TRACE (for a
    predicted failure, the CUDA-graphs-off cell it was predicted from)."""
    from .run.trace import record

    todo = [(i, f.traced) for i, f in enumerate(chosen) if f.traced is not None]
    if not todo:
        return [(None, [])] * len(chosen)
    progress.total += len(todo)
    progress.say(f"compilecheck: ticket: {len(todo)} cell(s) again under TORCH_TRACE, each in "
                 "a worker of its own (for tlparse)")
    import os

    os.makedirs(folder, exist_ok=True)
    runs = record(pool, [s for _, s in todo], folder, on_result=progress)
    out: list = [(None, [])] * len(chosen)
    for (i, _), run in zip(todo, runs):
        out[i] = run
    return out


def cold_start(options: DiagnoseOptions, progress: Progress, timeout: float | None = None,
               **measure_kw) -> tuple[list, dict]:
    """The cold-start rows, one fresh process each, one progress line per row (and one a
    minute while a row runs); ``timeout``: each row's, else the options'."""
    from .decide.coldstart import decide as decide_cold
    from .run.coldstart import measure, target_spec
    from .vocab.coldstart import DEFAULT_CALLS, ROWS

    spec = target_spec(options)
    progress.say(f"compilecheck: cold start, {len(ROWS)} rows of {spec.variant} / {spec.mode}, "
                 "each in a fresh process with empty caches (several whole compiles)")
    t0 = time.monotonic()

    def on_row(r):
        how = f"first call {r['compile_s']:.1f} s" if r.get("measured") else \
            f"{r['status']}: {(r.get('error') or '')[:80]}"
        progress.say(f"  cold start {r['name']}: {how}  [{time.monotonic() - t0:.0f}s]")

    def on_tick(name, seconds, limit):
        progress.say(f"  ... cold start {name}: running for {seconds:.0f} s of {limit:.0f} s "
                     f"allowed  [{time.monotonic() - t0:.0f}s]")

    rows = measure(spec, timeout or options.timeout, on_row=on_row, on_tick=on_tick,
                   **measure_kw)
    return decide_cold(rows, options.calls or DEFAULT_CALLS, spec.mode)
