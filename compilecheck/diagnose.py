"""plan -> run -> classify -> decide: one call that returns a Report."""
from __future__ import annotations

import dataclasses
import signal
import sys
import threading
import time

from .classify import cells as cls_
from .decide.estimate import estimate
from .env.knobs import lint, set_knobs
from .decide.ladder import decide
from .plan.cells import DiagnoseOptions, ladder_key, on_holders, plan as make_plan
from .report.report import Report
from .run.pool import Pool, RawResult
from .plan.schedule import as_alias, plan_runs


class Progress:
    """One line per finished cell on stderr."""

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total, self.done, self.quiet = total, 0, quiet
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()

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
    progress = Progress(len(the_plan.cells) - len(aliases), quiet)
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
        progress(raw)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (e.g. inside a test runner's thread)
        previous = None
    specs = list(the_plan.cells)
    try:
        for r in pool.run(runnable, on_result=on_result):
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
            for r in pool.run(held, on_result=progress):
                results[r.spec] = r
            specs += held
        extra = _needed_deferred(the_plan, results)
        if extra and not pool.interrupted:
            progress.total += len(extra)
            progress.say(f"compilecheck: {len(extra)} more cell(s): the suppress-errors rung "
                         "(the cell it wraps failed to compile)")
            for r in pool.run(extra, on_result=progress):
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
    ladder, recommendation, decided = decide(the_plan, list(zip(cells, specs)), knobs)
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
    report.estimate = estimate(report, decided, the_plan, options)
    if options.cold_start and not pool.interrupted:
        report.cold_start, report.cold_start_recommendation = cold_start(
            options, progress, region=repeated_region(results, the_plan.target_mode))
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


def cold_start(options: DiagnoseOptions, progress: Progress, **measure_kw) -> tuple[list, dict]:
    """The cold-start rows, one fresh process each, one progress line per row."""
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

    rows = measure(spec, options.timeout, on_row=on_row, **measure_kw)
    return decide_cold(rows, options.calls or DEFAULT_CALLS, spec.mode)


def repeated_region(results: dict, target_mode: str) -> dict | None:
    """The repeated region the target cell's compile profile named (its function, where it is
    defined, how many times one call runs it): what the cold start's regional rows compile."""
    from .classify.slowcompile import best_region

    for spec, raw in results.items():
        obs = raw.obs or {}
        if spec.mode == target_mode and spec.role == "matrix" and spec.scope == "whole" \
                and obs.get("profile"):
            best = best_region(obs, obs["profile"])
            if best:
                return {k: best[0][k] for k in ("function", "defined", "caller", "call_site",
                                                  "calls")}
    return None


def holders_of(results: dict) -> dict:
    """probe -> the modules of each kind that hold what its forward writes (state audit)."""
    out: dict = {}
    for spec, raw in results.items():
        audit = (raw.obs or {}).get("audit")
        if audit and spec.probe not in out and spec.scope == "whole":
            out[spec.probe] = audit.get("holders") or []
    return out


def _needed_deferred(the_plan, results) -> list:
    """The suppress-errors rung's cells, where the cell each wraps failed to compile (only
    then can the variable change anything)."""
    out = []
    for spec in the_plan.deferred.get("suppress-errors", []):
        twin = dataclasses.replace(spec, env=(), role="matrix")
        raw = next((r for s, r in results.items() if ladder_key(s) == ladder_key(twin)), None)
        if raw is None or raw.outcome != "ok" or spec.skip_reason:
            continue
        cell = cls_.classify(raw)
        if "compile_error" in cell.classes:
            out.append(spec)
    return out


def state_writes(results: dict) -> dict:
    """variant -> what its forward writes (the state audit), once per variant."""
    out: dict = {}
    for spec, raw in results.items():
        audit = (raw.obs or {}).get("audit")
        if audit and spec.variant not in out and spec.role == "matrix" and spec.scope == "whole":
            out[spec.variant] = {k: audit.get(k) for k in ("calls", "warmup", "stopped",
                                                           "seconds", "error", "writes",
                                                           "opaque", "aliases")}
    return out
