"""The ladder: every rung judged from its own cells, and the recommendation by a small table
of rules (docs/ladder.md):

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
from ..vocab.rungs import NOTHING_TO_WARM, BY_NAME, RUNGS, no_cudagraphs_form
from .estimate import needed_timeout
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
            elif _recompiles_every_call(deciding, iters.get(id(deciding))):
                rung.churn = f"{deciding.recompiles} recompiles in {iters[id(deciding)]} calls"
                rung.why += (f"; it recompiled on every call after the first ({rung.churn}): "
                             "compiled, it compiles on each call until dynamo's recompile "
                             "limit, then runs eagerly, so it is no rung to take as it is")
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
    rung.undecided, rung.warnings, rung.churn = twin.undecided, twin.warnings, twin.churn
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


def _recompiles_every_call(cell: CellResult, calls: int | None) -> bool:
    """Every compiled call after the first recompiled (state that changes on each call, a
    shape that moves): what such a rung measured is compiling, not running compiled code."""
    return bool(calls and calls >= 3 and cell.recompiles and cell.recompiles >= calls - 1)


def _usable(r: Rung, mode_has_cg: bool) -> bool:
    """A candidate: it passed, or it warned and none of its hazards can happen in its form;
    never a rung that recompiled on every call."""
    if r.churn:
        return False
    if r.status == "pass":
        return r.predicted not in ("cudagraph_overwrite", "fail")
    if r.status != "warn":
        return False
    cg_form = mode_has_cg and BY_NAME[r.name].cudagraphs != "off"
    if r.basis.startswith("measured with CUDA graphs"):
        return True  # its CUDA-graph cell ran without failing: the hazard was measured absent
    return not (cg_form and r.predicted in ("cudagraph_overwrite", "fail"))


def _overlap(a: Rung, b: Rung) -> bool:
    ra = a.speedup_range or [a.speedup or 0.0] * 2
    rb = b.speedup_range or [b.speedup or 0.0] * 2
    return ra[0] <= rb[1] and rb[0] <= ra[1]


QUIET = {"slow_compile"}  # a warning about compile time, not about what the rung does


def _clean(r: Rung) -> bool:
    """Passed, or warned only of its compile time (which the cache state of the run moves, so
    it must not rank rungs: rule 4 compares what a rung does, not how long it took)."""
    return r.status == "pass" or (r.status == "warn" and bool(r.warnings)
                                  and set(r.warnings) <= QUIET)


def _keeps_cg(r: Rung, mode_has_cg: bool) -> bool:
    """Its form keeps the target mode's CUDA graphs and they are predicted to run."""
    return mode_has_cg and BY_NAME[r.name].cudagraphs != "off" and \
        r.predicted in ("pass", "warn")


def recommend(rungs: list[Rung], mode: str, mode_has_cg: bool = True, rerun=None) -> dict:
    compiled = [r for r in rungs if r.name != "no-compile" and r.same_as is None
                and _usable(r, mode_has_cg)
                and (r.name != "suppress-errors" or _rescued(rungs))]
    undecided = [r for r in rungs if r.undecided and r.same_as is None]
    if not compiled:
        if undecided:
            return _undecided(undecided, rerun)
        eager = next((r for r in rungs if r.name == "no-compile" and r.status == "pass"), None)
        if eager is None:
            return {"rung": None, "name": None,
                    "summary": "no rung passed: not even eager ran cleanly; see the failing "
                               "cells"}
        churn = [r for r in rungs if r.churn and r.same_as is None]
        why = (f"every compiled rung recompiled on every call in {mode} ({churn[0].churn}; "
               "see the findings): compiled, it compiles on each call until "
               "dynamo's recompile limit, then runs eagerly. Take that state out of forward "
               "(or make it a tensor updated in place) before compiling" if churn else
               f"no compiled rung passed in {mode}")
        return {"rung": eager.rung, "name": eager.name,
                "summary": f"rung {eager.rung} (no-compile): {why}. Do this: {eager.settings}."}
    on_gpu = any(r.basis.startswith("measured with CUDA graphs") for r in rungs)

    def standing(r):
        return (not r.keeps_numerics, not _clean(r),
                not (on_gpu or _keeps_cg(r, mode_has_cg)),  # 4b: on a CPU, the prediction
                not r.basis.startswith("measured with CUDA graphs"))

    best_standing = min(standing(r) for r in compiled)
    tier = [r for r in compiled if standing(r) == best_standing]
    fastest = max(tier, key=lambda r: r.speedup or 0.0)
    best = min((r for r in tier if _overlap(r, fastest)),
               key=lambda r: (BY_NAME[r.name].change, r.rung))
    speed = f"{best.speedup:.2f}x eager" if best.speedup else "speed not measured"
    if best.speedup_range:
        speed += f" [{best.speedup_range[0]:.2f}-{best.speedup_range[1]:.2f}]"
    lines = [f"rung {best.rung} ({best.name}) in {mode}: {speed}, {best.basis}."]
    cg_off = [r for r in compiled if standing(r)[:2] == standing(best)[:2]
              and not _keeps_cg(r, mode_has_cg)]
    if not on_gpu and _keeps_cg(best, mode_has_cg) and cg_off:
        other = min(cg_off, key=lambda r: r.rung)
        lines.append(f"No rung ran with CUDA graphs here, so CPU speeds cannot rank it against "
                     f"rung {other.rung} ({other.name}), which turns them off: the prediction "
                     "decides.")
    if best.status == "warn":
        lines.append(f"It passes with a warning ({best.why.split(': ')[0]}"
                     + (", a note on compile time only" if _clean(best) else "") + ").")
    if not best.keeps_numerics:
        lines.append(f"It changes the model's numerics ({BY_NAME[best.name].changes}): no rung "
                     "that keeps them passed.")
    if best.speedup_range and best.speedup_range[1] < 1.0:
        lines.append("Compiled, this module measured slower than eager at this shape on this "
                     "machine: measure at the deployed shape and device before you choose.")
    before = [r for r in undecided if r.keeps_numerics and
              (BY_NAME[r.name].change, r.rung) < (BY_NAME[best.name].change, best.rung)]
    if before:
        r = before[0]
        lines.append(f"Rung {r.rung} ({r.name}) ran out of time after "
                     f"{r.undecided['timeout_s']:.0f} s and was not weighed; "
                     f"{_rerun(rerun, r.undecided['needed_s'])} weighs it.")
    lines.append(f"Do this: {best.settings}.")
    return {"rung": best.rung, "name": best.name, "summary": " ".join(lines)}


def _rerun(rerun, seconds: float) -> str:
    return rerun(seconds) if rerun else f"--timeout {seconds:.0f}"


def _undecided(rungs: list[Rung], rerun) -> dict:
    """No compiled rung can be chosen and some ran out of time: no verdict, the command that
    gives them the time they need."""
    needed = max(r.undecided["needed_s"] for r in rungs)
    first = rungs[0]
    names = ", ".join(f"{r.rung} ({r.name})" for r in rungs)
    command = _rerun(rerun, needed)
    summary = (f"undecided: rung{'s' if len(rungs) > 1 else ''} {names} ran out of time "
               f"(the first {first.undecided['what']}); running out of time is no verdict on "
               f"compiling. {needed:.0f} s per cell ({first.undecided['basis']}) decides it. "
               f"Do this: {command}")
    return {"rung": None, "name": None, "summary": summary,
            "undecided": {"rungs": [r.name for r in rungs], "timeout_s": needed,
                          "command": command}}


def _rescued(rungs: list[Rung]) -> bool:
    """suppress-errors counts only where the rung it wraps failed to compile (diagnose runs
    it only then; a report that measured both says so in full-fix's first finding)."""
    twin = next((r for r in rungs if r.name == "full-fix"), None)
    return twin is not None and twin.status == "fail" and twin.why.startswith("compile_error")
