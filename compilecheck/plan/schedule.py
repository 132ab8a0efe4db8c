"""Which cells run, and in what order. A cell that is the same experiment as another (the same
module, call history, call pattern, device and inductor options: a module compiled in
`reduce-overhead` without CUDA graphs is compiled exactly as in `default`) is measured once
and reported under both names. Compiled cells go before eager ones (the long compiles start
first), and the cells the ladder and the call patterns need before the rest of the matrix (the
recommendation's evidence comes first, and an interrupted run still has it)."""
from __future__ import annotations

import dataclasses

from .spec import CellSpec


def compile_identity(c: CellSpec, modes: dict) -> tuple:
    """Equal for cells that would compile and call the same thing the same way."""
    options = dict(modes.get(c.mode, {})) if c.mode != "eager" else {}
    options["triton.cudagraphs"] = bool(c.cudagraphs and options.get("triton.cudagraphs"))
    return (c.variant, c.probe, c.shape, c.config, c.seed, c.iters, c.device, c.warmup,
            c.pattern, c.env, c.scope, c.mode == "eager", tuple(sorted(options.items())))


def plan_runs(cells: list[CellSpec], modes: dict) -> tuple[list[CellSpec], dict]:
    """(the cells to run, in order; {cell not run: the cell that measures it})."""
    first: dict = {}
    aliases: dict = {}
    for c in cells:
        key = compile_identity(c, modes)
        if key in first:
            aliases[c] = first[key]
        else:
            first[key] = c
    runs = sorted(first.values(), key=lambda c: (c.mode == "eager", c.scope != "whole",
                                                 c.role == "matrix"))
    return runs, aliases


def as_alias(raw, spec: CellSpec):
    """The measured cell's result, reported for ``spec`` too."""
    return dataclasses.replace(raw, spec=spec, same_as=raw.spec)
