"""The ticket folder (``diagnose --ticket DIR``): what a user attaches to a bug ticket as it is.

The markdown and JSON reports; for each distinct failure (a FAIL finding, and each failure
predicted under CUDA graphs) a repro script that needs torch and the user's code only
(report/repro.py); the TORCH_TRACE log of the cell that shows it, for ``tlparse`` (recorded by
run/trace.py); the built-in probes' source where a repro builds one; a README naming each file
and the one command that runs it.
"""
from __future__ import annotations

import os
import shutil

from ..env.files import write_atomic
from ..plan.spec import CellSpec
from ..vocab.findings import CLASSES
from .repro import Failure, needs, script

FAIL_CLASSES = {name for name, c in CLASSES.items() if c.severity == "fail"}


REPORT_MD, REPORT_JSON, README = "report.md", "report.json", "README.md"


class TicketWriteError(OSError):
    """The folder could not be written (its one line for the user)."""


def failures(cells: list, specs: list[CellSpec], state_writes: dict,
             error_steps: dict | None = None) -> list[Failure]:
    """One Failure per distinct (module, scope, class): from a measured cell where one shows
    it, the matrix before the rungs and call patterns, in the order the cells ran."""
    error_steps = error_steps or {}
    ran = {(c.variant, c.mode, c.role, c.pattern, c.scope, c.cudagraphs): (c, s)
           for c, s in zip(cells, specs) if c.status != "skip"}
    found = []
    for i, (c, s) in enumerate(zip(cells, specs)):
        if c.mode == "eager":
            continue
        rank = (c.role not in ("matrix", "call-pattern"), i)
        if c.status == "fail":
            calls = max(s.iters, (error_steps.get(s) or 0) + 1)
            for f in c.findings:
                if f["class"] in FAIL_CLASSES:
                    found.append(((False, *rank), Failure(f["class"], c, s, False, f, s,
                                                          c.warmup, calls, c.error)))
        elif c.status == "skip" and c.predicted in FAIL_CLASSES:
            sib = ran.get((c.variant, c.mode, c.role, c.pattern, c.scope, "off"))
            finding = next((f for f in (sib[0].findings if sib else ())
                            if c.predicted in (f.get("predicts"), f["class"])), None)
            warmup = sib[0].warmup if sib else s.warmup if s.warmup >= 0 else \
                (state_writes.get(c.variant) or {}).get("warmup", 0)
            found.append(((True, *rank), Failure(c.predicted, c, s, True, finding,
                                                 sib[1] if sib else None, warmup, s.iters,
                                                 sib[0].error if sib else None)))
    best: dict = {}
    for rank, f in sorted(found, key=lambda p: p[0]):
        best.setdefault((f.cell.variant, f.cell.scope, f.cls), (rank[-1], f))
    return [f for _, f in sorted(best.values(), key=lambda p: p[0])]


def _copy_sources(folder: str, chosen: list[Failure]):
    """The built-in probes' source (a package of torch-only files) and any pickled subject."""
    from ..plan.userprobes import probe_source
    from .repro import pickle_name

    for f in chosen:
        kind = "builtin" if f.spec.probe is None else probe_source(f.spec.probe)[0]
        if kind in ("builtin", "policy") and not os.path.isdir(os.path.join(folder, "probes")):
            from .. import probes

            src = os.path.dirname(os.path.abspath(probes.__file__))
            shutil.copytree(src, os.path.join(folder, "probes"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif kind == "pickle":
            shutil.copyfile(probe_source(f.spec.probe)[1], os.path.join(folder,
                                                                        pickle_name(f.spec)))


def _keep_traces(folder: str, n: int, f: Failure, files: list[str]) -> list[str]:
    """The trace logs of repro ``n``, moved into the folder under names that say whose."""
    out = []
    for k, path in enumerate(files):
        name = f"trace-{n}-{f.slug}{'' if k == 0 else f'-process{k + 1}'}.log"
        shutil.move(path, os.path.join(folder, name))
        os.chmod(os.path.join(folder, name), 0o644)  # torch writes it 0600
        out.append(name)
    return out


def _status(raw) -> str:
    """How the traced run of a cell ended, in the report's words."""
    from ..classify.cells import classify

    cell = classify(raw)
    classes = ", ".join(dict.fromkeys(cell.classes))
    return f"{cell.status} ({classes})" if classes else cell.status


def write(folder: str, report, chosen: list[Failure], traces: list | None,
          timeout: float) -> list[dict]:
    """Write the folder; returns the report's ``ticket`` entries (one per repro).
    TicketWriteError where the disk refuses."""
    try:
        return _write(folder, report, chosen, traces, timeout)
    except OSError as e:
        raise TicketWriteError(f"cannot write the ticket folder {folder}: "
                               f"{e.strerror or e}") from None


def _write(folder: str, report, chosen: list[Failure], traces: list | None,
           timeout: float) -> list[dict]:
    os.makedirs(folder, exist_ok=True)
    env = report.environment
    entries = []
    _copy_sources(folder, chosen)
    for n, f in enumerate(chosen, 1):
        file = f"repro-{n}-{f.slug}.py"
        write_atomic(os.path.join(folder, file), script(f, n, file, env, report.tool, timeout))
        os.chmod(os.path.join(folder, file), 0o755)
        raw, files = (traces[n - 1] if traces and n - 1 < len(traces) else (None, []))
        kept = _keep_traces(folder, n, f, files)
        entries.append({
            "file": file, "class": f.cls, "cell": f.title, "predicted": f.predicted,
            "needs": needs(f.spec), "traces": kept,
            "traced_cell": None if f.traced is None else f.traced.label,
            "traced_status": None if raw is None else _status(raw)})
    for leftover in os.listdir(folder):  # the trace folders, emptied
        if leftover.startswith(".torch-trace-"):
            shutil.rmtree(os.path.join(folder, leftover), ignore_errors=True)
    report.ticket = entries
    write_atomic(os.path.join(folder, REPORT_JSON), report.render("json"))
    write_atomic(os.path.join(folder, REPORT_MD), report.render("markdown"))
    write_atomic(os.path.join(folder, README), readme(report, entries))
    return entries


def readme(report, entries: list[dict]) -> str:
    env = report.environment
    subjects = ", ".join(dict.fromkeys(c.variant for c in report.cells))
    out = [f"# compilecheck: {report.verdict} for {subjects}", "",
           f"torch {env.get('torch')}, device {env.get('device')}"
           + (f" ({env['gpu']})" if env.get("gpu") else "")
           + f", {env.get('date') or 'date not recorded'}; {report.tool}.", "",
           "Attach this folder to the ticket as it is.", "",
           "| file | what it is | run it |", "|---|---|---|",
           f"| `{REPORT_MD}` | the diagnosis, laid out for a ticket | read it |",
           f"| `{REPORT_JSON}` | the same, as data (schema `{report.to_dict()['schema']}`) | "
           f"`compilecheck report {REPORT_JSON}` |"]
    for n, e in enumerate(entries, 1):
        out.append(f"| `{e['file']}` | repro {n}: {e['cell']}; needs torch and {e['needs']} | "
                   f"`python {e['file']}` |")
        for t in e["traces"]:
            out.append(f"| `{t}` | the TORCH_TRACE of {e['traced_cell']} "
                       f"(that run: {e['traced_status']}) | "
                       f"`tlparse {t} -o tlparse-{n} --no-browser` |")
    if any("probes/" in e["needs"] for e in entries):
        out.append("| `probes/` | the built-in probe's source (torch only), which the repros "
                   "import | - |")
    out += [""]
    if entries:
        out += ["Each repro builds the module with the run's seed and inputs, compiles it with "
                "the cell's mode and options, calls it as the cell did, and ends with one line: "
                'exit 1 "reproduced: ...", exit 0 "not reproduced here", exit 2 "cannot run '
                'here: ..." (a CUDA-graph repro on a machine without CUDA). A repro marked '
                "predicted did not run: the run had no CUDA device, and the cell's "
                "CUDA-graphs-off sibling showed what CUDA graphs turn into that failure.", ""]
        missing = [e for e in entries if not e["traces"]]
        if missing:
            out += ["No TORCH_TRACE for repro(s) " + ", ".join(
                str(entries.index(e) + 1) for e in missing) + ": the cell needs what this "
                "machine lacks. `TORCH_TRACE=trace python FILE` records one where it runs "
                "(tlparse reads the file torch writes in trace/).", ""]
        out += ["`tlparse` (`pip install tlparse`) turns a trace into an HTML report of every "
                "compile: graphs, guards, recompiles and the error.", ""]
    else:
        out += ["No cell failed: there is nothing to reproduce.", ""]
    return "\n".join(out)
