"""The ladder: every rung judged from its own cells (decide/recommend.py chooses among them by
a small table of rules, docs/ladder.md):

1. Only a rung that passed, or warned with a hazard its own form cannot meet, is a candidate;
   ``no-compile`` only when no compiled rung is.
2. A rung that keeps the model's numerics beats one that changes them, whatever the speed.
3. A clean pass beats a pass with warnings.
4. A pass measured with CUDA graphs on the GPU beats a CPU prediction.
5. ``suppress-errors`` only where it turned its twin's compile failure into a pass.
6. Among the rest, speeds whose spreads overlap are equal, and the smaller change to the
   user's code wins: none (the module as it is) < the call site (a warm-up, the compile's
   options) < the layer's own code (a calibration pass); then the lower rung.

Where no rung ran with CUDA graphs (a CPU) and the target mode has them, a rung predicted to
run with them outranks one whose form turns them off: CPU speeds, measured without CUDA
graphs for both, cannot rank them (rule 4b). A rung whose cell ran out of time is undecided:
neither a candidate nor evidence against compiling; where no rung can be chosen without it,
the recommendation is the command that gives it the time it needs.

Every sentence of a rung's ``why`` comes from this run's cells for this module.
"""
from __future__ import annotations

from ..plan.cells import Plan, ladder_key
from ..vocab.results import CellResult, Rung
from ..vocab.rungs import NOTHING_TO_WARM, RUNGS, no_cudagraphs_form
from .estimate import needed_timeout
from .recommend import recommend, unfit
from ..classify.detectors import NOT_A_VERDICT


def _cells_of(keys, by_key) -> list[CellResult]:
    return [c for c in (by_key.get(ladder_key(k)) for k in keys) if c is not None]


def _deciding(cells: list[CellResult]) -> CellResult | None:
    """The CUDA-graphs cell if it ran, else the cell that ran."""
    ran = [c for c in cells if c.status != "skip"]
    on = [c for c in ran if c.cudagraphs == "on"]
    return (on or ran or cells or [None])[0]


def _finding_sentence(findings: list) -> str:
    f = findings[0]
    where = f" at {f['where']}" if f.get("where") else ""
    first = f["detail"].split(". ")[0].rstrip(".")
    more = len({x["class"] for x in findings}) - 1
    others = f" (+{more} other finding class{'es' if more > 1 else ''})" if more > 0 else ""
    return f"{f['class']}{where}: {first}{others}"


def _speed(cell: CellResult) -> str:
    if not cell.speedup:
        return "speed not measured"
    rng = cell.speedup_range
    spread = f" [{rng[0]:.2f}-{rng[1]:.2f}]" if rng else ""
    return f"{cell.speedup:.2f}x eager{spread}"


def _basis(cells: list[CellResult], deciding: CellResult, mode_has_cg: bool,
           rung_cg: bool) -> tuple[str, str | None]:
    """What the status rests on, and (on a machine without CUDA) what CUDA graphs would do."""
    where = "on the GPU" if deciding.device == "cuda" else "on the CPU"
    if deciding.mode == "eager":
        return f"measured eager {where}", None
    if deciding.on_gpu:
        return "measured with CUDA graphs on the GPU", None
    if not (mode_has_cg and rung_cg):
        return f"measured {where}, no CUDA graphs in this form", None
    skipped_on = [c for c in cells if c.cudagraphs == "on" and c.status == "skip"]
    pred = skipped_on[0].predicted if skipped_on else None
    return f"measured {where} with CUDA graphs off; {_cg_words(pred)}", pred


def _cg_words(pred: str | None) -> str:
    """What CUDA graphs are predicted to do, in words about CUDA graphs only: a failure class
    by name; a pass or a warning (whose findings are no CUDA-graph hazard) as running."""
    if pred in ("pass", "warn"):
        return "predicted to run with CUDA graphs (no CUDA-graph hazard found)"
    if pred:
        return f"with CUDA graphs predicted: {pred}"
    return "with CUDA graphs: no prediction"


def decide(plan: Plan, cells_specs: list, knobs: list, estimate_s: float | None = None,
           rerun=None) -> tuple[list[Rung], dict, dict]:
    """The rungs, the recommendation, and the cell each rung's status rests on.
    ``estimate_s``: the whole policy's compile estimate (a timed-out cell's time needed);
    ``rerun(seconds)``: the command that gives every cell that time."""
    by_key = {ladder_key(spec): c for c, spec in cells_specs}
    ignored = {k["name"] for k in knobs if k.get("read_by_torch") is False}
    mode = plan.target_mode
    modes = plan.modes
    mode_has_cg = bool(modes.get(mode, {}).get("triton.cudagraphs"))
    no_cg = no_cudagraphs_form(mode, modes)
    rungs: list[Rung] = []
    decided: dict = {}  # rung name -> the cell its status rests on
    iters = {id(c): spec.iters for c, spec in cells_specs}  # each cell's compiled calls
    for number, entry in enumerate(RUNGS):
        keys = plan.rungs.get(entry.name) or []
        cells = _cells_of(keys, by_key)
        deciding = _deciding(cells)
        warmup = max((c.warmup for c in cells), default=0)
        settings = entry.settings(mode, no_cg, plan.subject, warmup)
        rung = Rung(number, entry.name, "n/a", None, settings, "", entry.keeps_numerics,
                    None, "")
        if not keys:
            rung.why = "applies to the built-in DuQuant probe only"
        elif deciding is None or deciding.status == "skip":
            rung.status = "skip"
            rung.why = (deciding.error if deciding else None) or "not measured"
        elif "timeout" in deciding.classes:  # out of time: no verdict either way
            given = deciding.wall_s or 0.0
            what = next(f["detail"] for f in deciding.findings if f["class"] == "timeout")
            what = what.split(NOT_A_VERDICT)[0]
            rung.status = "skip"
            rung.undecided = {"timeout_s": round(given), "what": what,
                              "needed_s": needed_timeout(given, estimate_s),
                              "basis": "the estimate of the whole policy's compile, "
                                       f"about {estimate_s:.0f} s" if estimate_s else
                                       "twice the time it had: no estimate of this compile"}
            rung.why = (f"undecided: {what}; not a verdict: --timeout "
                        f"{rung.undecided['needed_s']:.0f} decides it")
        else:
            decided[entry.name] = deciding
            rung.status, rung.speedup = deciding.status, deciding.speedup
            if deciding.status == "warn":
                rung.warnings = sorted(set(deciding.classes))
            rung.speedup_range = deciding.speedup_range
            rung.basis, rung.predicted = _basis(cells, deciding, mode_has_cg,
                                                entry.cudagraphs != "off")
            rung.why = _why(entry.name, deciding, rung,
                            mode_has_cg and entry.cudagraphs != "off")
            if entry.name == "suppress-errors" and "TORCHDYNAMO_SUPPRESS_ERRORS" in ignored:
                rung.status = "fail"
                rung.why = "the installed torch does not read TORCHDYNAMO_SUPPRESS_ERRORS"
            else:
                rung.unfit = unfit(deciding, deciding.calls or iters.get(id(deciding)))
                if rung.unfit:
                    rung.why = rung.why.rstrip(".") + f"; {rung.unfit}, so it is no rung to take"
        rung.warmup = warmup
        rungs.append(rung)
    # rungs that measure nothing of their own here are the rung they wrap
    by_name = {r.name: r for r in rungs}
    for r in rungs:
        keys = plan.rungs.get(r.name) or []
        if r.name == "suppress-errors" and keys and r.status == "skip" \
                and not [c for c in _cells_of(keys, by_key) if c.status != "skip"]:
            _wraps(r, by_name["full-fix"],
                   "not run: the cell it wraps (full-fix) compiled without a compile error, "
                   "so TORCHDYNAMO_SUPPRESS_ERRORS changes nothing here")
        elif r.name == "no-cudagraphs" and keys and not mode_has_cg:
            _wraps(r, by_name["full-fix"],
                   f"the target mode {mode} runs without CUDA graphs already")
        elif r.name == "warm-up" and keys and not r.warmup and (r.status != "skip" or any(
                (c.error or "").startswith(NOTHING_TO_WARM) for c in _cells_of(keys, by_key))):
            _wraps(r, by_name["full-fix"],
                   "the state audit saw no write that a warm-up changes (0 calls needed), so "
                   "it was not compiled again")
    return rungs, recommend(rungs, mode, mode_has_cg, rerun), decided


def _wraps(rung: Rung, twin: Rung, reason: str):
    rung.same_as = twin.name
    rung.status, rung.speedup, rung.speedup_range = twin.status, twin.speedup, \
        twin.speedup_range
    rung.basis, rung.predicted = twin.basis, twin.predicted
    rung.undecided, rung.warnings, rung.unfit = twin.undecided, twin.warnings, twin.unfit
    rung.why = f"{reason}; it is the {twin.name} rung ({twin.status})."


def _why(name: str, cell: CellResult, rung: Rung, cg_form: bool) -> str:
    findings = cell.findings
    moot = [f for f in findings if f.get("predicts") == "cudagraph_overwrite"] \
        if not cg_form else []
    findings = [f for f in findings if f not in moot]
    if cell.status == "pass" or (cell.status == "warn" and not findings):
        text = f"passed in {cell.mode}, {_speed(cell)}" if cell.mode != "eager" else \
            "runs eager: the speed of eager, nothing compiled"
        if cell.mode != "eager":
            text += f"; {cell.graphs} graph(s), {cell.recompiles} recompile(s)"
        if name == "warm-up":
            text += (f", after {cell.warmup} eager call(s) before compiling; the compiled "
                     "forward changed no module state that matters")
    else:
        text = _finding_sentence(findings) if findings else (cell.error or cell.status)
    if moot:
        text += (f"; without CUDA graphs the overwrite of "
                 f"{', '.join('`' + f['attribute'] + '`' for f in moot if f.get('attribute'))} "
                 "cannot happen")
    if rung.predicted in ("pass", "warn"):
        text += "; predicted to run with CUDA graphs (not measured here)"
    elif rung.predicted:
        text += f"; with CUDA graphs (predicted, not measured here): {rung.predicted}"
    return text.rstrip(".") + "."
