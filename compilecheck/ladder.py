"""The fallback ladder: every rung measured, the recommendation is the fastest that passed."""
from __future__ import annotations

from .plan import Plan, ladder_key
from .report import CellResult, Rung

RUNGS = (
    (0, "calibrated", "calibrate before compiling (code change)"),
    (1, "full-fix", "the buffer + clone + flag layer, compiled in the target mode"),
    (2, "abits16", "weight-only quantisation (OPENPI_DUQUANT_ABITS=16), same mode"),
    (3, "suppress-errors", "TORCHDYNAMO_SUPPRESS_ERRORS=1 (runtime errors are not suppressed)"),
    (4, "no-compile", "eager (OPENPI_DISABLE_TORCH_COMPILE=1)"),
)


def settings_for(name: str, mode: str, user_probe: bool) -> str:
    compile_call = f"torch.compile(..., mode={mode!r})"
    return {
        "calibrated": f"code change: call layer.calibrate(batches) on a few real inputs before "
                      f"{compile_call}; forward then only reads the frozen _act_scale buffer",
        "full-fix": f"keep the module as deployed; {compile_call}" if user_probe else
                    f"the buffer-clone layer as deployed; {compile_call}",
        "abits16": f"export OPENPI_DUQUANT_ABITS=16; {compile_call}",
        "suppress-errors": f"export TORCHDYNAMO_SUPPRESS_ERRORS=1; {compile_call}",
        "no-compile": "do not torch.compile this module (run it eager)" if user_probe else
                      "export OPENPI_DISABLE_TORCH_COMPILE=1 (no torch.compile)",
    }[name]


def _cell_for(keys, cells_by_key) -> CellResult | None:
    """The rung's deciding cell: the CUDA-graphs one if it ran, else the one that ran."""
    found = [cells_by_key.get(ladder_key(k)) for k in keys]
    found = [c for c in found if c is not None]
    ran = [c for c in found if c.status != "skip"]
    on = [c for c in ran if c.cudagraphs == "on"]
    return (on or ran or found or [None])[0]


def _one_sentence(cell: CellResult) -> str:
    if not cell.findings:
        return cell.error or cell.status
    f = cell.findings[0]
    where = f" at {f['where']}" if f.get("where") else ""
    return f"{f['class']}{where}: {f['detail'].split(': ')[0].split('. ')[0].rstrip('.')}."


def decide(plan: Plan, cells: list[CellResult], knobs: list) -> tuple[list[Rung], dict]:
    by_key = {}
    for c, spec in cells:
        by_key[ladder_key(spec)] = c
    user_probe = not plan.rungs.get("calibrated") and not plan.rungs.get("abits16")
    ignored = {k["name"] for k in knobs if k.get("read_by_torch") is False}
    rungs: list[Rung] = []
    for number, name, _ in RUNGS:
        keys = plan.rungs.get(name) or []
        settings = settings_for(name, plan.target_mode, user_probe)
        if not keys:
            rungs.append(Rung(number, name, "n/a", None, "", "not applicable to a user's own "
                                                                "module"))
            continue
        cell = _cell_for(keys, by_key)
        if cell is None or cell.status == "skip":
            rungs.append(Rung(number, name, "skip", None, settings,
                              (cell.error if cell else None) or "not measured"))
            continue
        why = _rung_why(name, cell, keys, by_key, plan.target_mode)
        status = cell.status
        if name == "suppress-errors" and "TORCHDYNAMO_SUPPRESS_ERRORS" in ignored:
            status, why = "fail", "the installed torch does not read TORCHDYNAMO_SUPPRESS_ERRORS"
        rungs.append(Rung(number, name, status, cell.speedup, settings, why))
    return rungs, recommend(rungs, plan.target_mode)


def _rung_why(name, cell, keys, by_key, mode) -> str:
    on_skipped = [by_key.get(ladder_key(k)) for k in keys if k.cudagraphs]
    on_skipped = [c for c in on_skipped if c is not None and c.status == "skip"]
    suffix = ""
    if on_skipped:
        pred = on_skipped[0].predicted
        suffix = (f" (measured with CUDA graphs off: {on_skipped[0].error.split(';')[0]}; "
                  f"with CUDA graphs predicted: {pred or 'unknown'})")
    if cell.status == "pass":
        return (f"passed in {cell.mode}" + (f", {cell.speedup:.2f}x eager"
                                             if cell.speedup else "") + suffix + ".")
    sentence = _one_sentence(cell)
    if name == "full-fix" and "state_mutation" in cell.classes:
        sentence = ("the hand-written fix still assigns _act_scale inside the compiled "
                    "region, and the .clone() there is itself a CUDA-graph output, so it does "
                    "not prevent the overwrite. " + sentence)
    if name == "suppress-errors" and cell.status != "pass":
        sentence = ("TORCHDYNAMO_SUPPRESS_ERRORS only turns compile-time failures into eager "
                    "fallbacks; it does not change what the compiled code does at run time. "
                    + sentence)
    return sentence.rstrip(".") + suffix + "."


SAME_SPEED = 0.10  # rungs within 10% of the fastest are as fast: timings carry that much noise


def recommend(rungs: list[Rung], mode: str) -> dict:
    """The fastest rung that passed; among rungs within SAME_SPEED of it, the lowest (it
    changes least: calibrating keeps W4A8, abits16 gives up activation quantisation)."""
    passed = [r for r in rungs if r.status == "pass"]
    if not passed:
        return {"rung": None, "name": None,
                "summary": "no rung passed: not even eager ran cleanly; see the failing cells"}
    fastest = max(r.speedup or 0.0 for r in passed)
    best = min((r for r in passed if (r.speedup or 0.0) >= fastest * (1 - SAME_SPEED)),
               key=lambda r: r.rung)
    speed = f"{best.speedup:.2f}x eager" if best.speedup else "speed not measured"
    return {"rung": best.rung, "name": best.name,
            "summary": f"rung {best.rung} ({best.name}) in {mode if best.rung < 4 else 'eager'}: "
                       f"{speed}. Do this: {best.settings}."}
