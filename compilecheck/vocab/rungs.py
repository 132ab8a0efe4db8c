"""The fallback ladder's rungs: one small entry each, in order of how little each changes.

A rung says what it changes, whether it keeps the model's numerics, which cells measure it
(always in the target mode) and exactly what to set or change to take it. The ladder
(decide/ladder.py) judges them from those cells; a script keys on a rung's ``name``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

SUPPRESS_ENV = (("TORCHDYNAMO_SUPPRESS_ERRORS", "1"),)


@dataclasses.dataclass(frozen=True)
class Subject:
    """What the rungs are measured on: the deployed layer (built-in) or the user's module."""

    variant: str
    probe: str | None
    config: tuple

    @property
    def user(self) -> bool:
        return self.probe is not None


@dataclasses.dataclass(frozen=True)
class Rung:
    name: str
    changes: str  # what taking it changes, in a few words
    keeps_numerics: bool
    # (subject) -> dict of CellSpec fields for its cells, or None where it does not apply
    cell: Callable
    settings: Callable  # (mode, no_cg_form, subject, warmup) -> what to set or change
    builtin_only: bool = False
    cudagraphs: str = "target"  # "target": as the target mode has them; "off": always off
    # how much of the user's code taking it changes: 0 none (the module as it is, or a
    # variable), 1 the call site (how it is compiled or warmed up), 2 the layer's own code
    change: int = 0


def _compile(mode: str) -> str:
    return f"torch.compile(model, mode={mode!r})"


def no_cudagraphs_form(mode: str, modes: dict) -> str:
    """The working way to compile ``mode`` without CUDA graphs: its twin mode if torch has
    one, else its options with triton.cudagraphs False (never an environment variable)."""
    opts = {k: v for k, v in modes.get(mode, {}).items() if k != "triton.cudagraphs"}
    twin = next((m for m, o in modes.items() if m != mode and o == opts), None)
    if twin is not None:
        return f"torch.compile(model, mode={twin!r})"
    return (f"torch.compile(model, options={{**torch._inductor.list_mode_options({mode!r}), "
            "'triton.cudagraphs': False}})")


# the warm-up rung's cell, where the state audit saw nothing a warm-up changes: not compiled
# (it would be the module as deployed, compiled a second time for nothing)
NOTHING_TO_WARM = ("nothing to warm up: the state audit saw no write whose first-call value a "
                   "later call depends on (0 eager calls needed)")


def _warmup_settings(mode, no_cg, subject, k):
    calls = k if k and k > 0 else "K"
    return (f"before compiling, {calls} eager call(s) on the target device: "
            f"`with torch.no_grad(): [model(*batch) for batch in first_{calls}_batches]` then "
            f"`model = {_compile(mode)}`")


RUNGS: tuple[Rung, ...] = (
    Rung("calibrated", "a code change: calibrate before compiling", True,
         lambda s: dict(variant="calibrated", probe=None),
         lambda mode, no_cg, s, k: (
             "code change: call layer.calibrate(batches) on a few real inputs before "
             f"{_compile(mode)}; forward then only reads the frozen _act_scale buffer"),
         builtin_only=True, change=2),
    Rung("warm-up", "no code change: eager calls before torch.compile", True,
         lambda s: dict(variant=s.variant, probe=s.probe, config=s.config, warmup=-1),
         _warmup_settings, change=1),
    Rung("full-fix", "nothing: the module as deployed", True,
         lambda s: dict(variant=s.variant, probe=s.probe, config=s.config),
         lambda mode, no_cg, s, k: f"keep the module as deployed; {_compile(mode)}"),
    Rung("no-cudagraphs", "compile without CUDA graphs", True,
         lambda s: dict(variant=s.variant, probe=s.probe, config=s.config),
         lambda mode, no_cg, s, k: f"{no_cg} (the module as deployed)",
         cudagraphs="off", change=1),
    Rung("abits16", "weight-only quantisation: activations are no longer quantised to 8 bits",
         False,
         lambda s: dict(variant=s.variant, probe=None,
                        config=tuple((k, 16 if k == "abits" else v) for k, v in s.config)),
         lambda mode, no_cg, s, k: f"export OPENPI_DUQUANT_ABITS=16; {_compile(mode)}",
         builtin_only=True),
    Rung("suppress-errors", "dynamo falls back to eager where it fails to compile", True,
         lambda s: dict(variant=s.variant, probe=s.probe, config=s.config, env=SUPPRESS_ENV),
         lambda mode, no_cg, s, k: f"export TORCHDYNAMO_SUPPRESS_ERRORS=1; {_compile(mode)}"),
    Rung("no-compile", "no torch.compile at all", True,
         lambda s: dict(variant=s.variant, probe=s.probe, config=s.config, mode="eager"),
         lambda mode, no_cg, s, k: "do not torch.compile this module (run it eager)"
         if s.user else "export OPENPI_DISABLE_TORCH_COMPILE=1 (no torch.compile)"),
)
NAMES = tuple(r.name for r in RUNGS)
BY_NAME = {r.name: r for r in RUNGS}
