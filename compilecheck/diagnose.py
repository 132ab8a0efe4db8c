"""plan -> run -> classify -> decide: one call that returns a Report."""
from __future__ import annotations

import signal
import sys
import time

from . import classify as cls_
from .knobs import lint
from .ladder import decide
from .plan import DiagnoseOptions, plan as make_plan
from .report import Report
from .runner import Pool, RawResult


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


def diagnose(options: DiagnoseOptions, quiet: bool = False, environment: dict | None = None
             ) -> Report:
    from .envinfo import environment as env_block

    the_plan = make_plan(options)
    runnable = [c for c in the_plan.cells if c.skip_reason is None]
    progress = Progress(len(the_plan.cells), quiet)
    jobs = min(options.effective_jobs, max(1, len(runnable)))
    progress.say(f"compilecheck: {len(the_plan.cells)} cells ({len(runnable)} to run, "
                 f"{len(the_plan.cells) - len(runnable)} skipped here) on {options.device}, "
                 f"{jobs} worker(s)")
    results: dict = {}
    for spec in the_plan.cells:
        if spec.skip_reason is not None:
            r = cls_.skipped(spec)
            results[spec] = r
            progress(r)
    pool = Pool(jobs, options.timeout, options.device, on_result=progress)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (e.g. inside a test runner's thread)
        previous = None
    try:
        for r in pool.run(runnable):
            results[r.spec] = r
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        pool.close()
    cells = [cls_.classify(results[s]) for s in the_plan.cells]
    cells = cls_.predict(cells)
    knobs = lint()
    ladder, recommendation = decide(the_plan, list(zip(cells, the_plan.cells)), knobs)
    env = environment if environment is not None else env_block(options.device)
    env["shape"] = options.shape
    env["seed"] = options.seed
    env["iters"] = options.iters
    return Report(env, knobs, cells, ladder, recommendation, the_plan.target_mode,
                  interrupted=pool.interrupted)
