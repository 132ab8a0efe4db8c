"""The recommendation: among the judged rungs (decide/ladder.py), the one to take, by the
small table of rules in docs/ladder.md (candidates, numerics, clean over warned, CUDA graphs
kept over CPU speeds, measured over predicted, the smaller change among equal speeds), or
the command that decides where time ran out."""
from __future__ import annotations

import re

from ..vocab.results import CellResult, Rung
from ..vocab.rungs import BY_NAME


def unfit(cell: CellResult, calls: int | None) -> str | None:
    """Why a rung whose cell ran cleanly still measured no compiled code, or None: dynamo made
    no graph of it (forward ran eagerly), or every compiled call after the first recompiled
    (state that changes on each call, a shape that moves: it compiles until dynamo's
    recompile limit, then runs eagerly)."""
    if cell.graphs == 0 and cell.mode != "eager":
        why = next((f["detail"].split(": ", 2)[-1] for f in cell.findings
                    if f["class"] == "graph_break"), "")
        code = re.search(r"\bGB\d{4}\b", why)
        why = why.split(" [")[0][:120] + (f", {code.group(0)}" if code else "")
        return "dynamo compiled no graph of it: compiled, it runs eagerly anyway" + (
            f" ({why})" if why else "")
    if calls and calls >= 3 and cell.recompiles and cell.recompiles >= calls - 1:
        return (f"it recompiled on every call after the first ({cell.recompiles} recompiles "
                f"in {calls} calls): compiled, it compiles on each call until dynamo's "
                "recompile limit, then runs eagerly")
    return None


def _usable(r: Rung, mode_has_cg: bool) -> bool:
    """A candidate: it passed, or it warned and none of its hazards can happen in its form;
    never a rung that recompiled on every call."""
    if r.unfit:
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


def _warned(r: Rung) -> set:
    return set(r.warnings or ()) - QUIET if r.status == "warn" else set()


def _dominated(r: Rung, tier: list[Rung]) -> bool:
    """Rule 4c: another rung of its tier warned of fewer things, all of which this one warned
    of too (a warm-up that ends a first-call write's finding and keeps only the graph break
    the module as deployed also has): that rung fixes something this one leaves."""
    mine = _warned(r)
    return any(_warned(o) < mine for o in tier if o is not r)


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
        unfit_ = [r for r in rungs if r.unfit and r.same_as is None]
        why = (f"no compiled rung is worth taking in {mode}: {unfit_[0].unfit} (see the "
               "findings). " + _way_out(unfit_[0]) if unfit_ else
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
    tier = [r for r in tier if not _dominated(r, tier)]  # 4c
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


def _way_out(r: Rung) -> str:
    """What would make an unfit rung worth compiling, from what its cell found: the state
    forward changes where a write caused the recompiles, else what the guards name."""
    if "recompiled" not in r.unfit:
        return "Remove what the graph break names, or leave the module eager"
    if "state_mutation" in (r.warnings or ()):
        return ("Take the state that changes out of forward (or make it a tensor updated in "
                "place) before compiling")
    return ("Each recompile's guard (in the findings) names the value that changed between "
            "calls: keep it fixed, or leave that code eager")


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
