"""The cells: variant x mode x CUDA graphs x device, plus the cells the ladder needs."""
from __future__ import annotations

import dataclasses
import os

from .spec import CellSpec

DEFAULT_MODES = ("eager", "default", "reduce-overhead", "max-autotune",
                 "max-autotune-no-cudagraphs")
UPSTREAM_MODE = "max-autotune"  # upstream openpi's default
SUPPRESS_ENV = (("TORCHDYNAMO_SUPPRESS_ERRORS", "1"),)
NO_CUDA = "CUDA graphs need a CUDA device; none here"
MAX_DEFAULT_JOBS = 8


class PlanError(ValueError):
    """Options that cannot make a matrix (one line for the user)."""


def torch_modes() -> dict[str, dict]:
    """The compile modes the installed torch knows, with their options."""
    from torch._inductor import list_mode_options

    return {name: dict(opts) for name, opts in list_mode_options().items()}


def uses_cudagraphs(mode: str, modes: dict) -> bool:
    return bool(modes.get(mode, {}).get("triton.cudagraphs"))


@dataclasses.dataclass
class DiagnoseOptions:
    device: str = "cpu"
    variants: tuple = ("lazy", "buffer-clone", "calibrated", "weight-only")
    modes: tuple = DEFAULT_MODES
    cudagraphs: str = "both"  # on | off | both
    shape: str = "tiny"
    config: tuple = ()  # DuQuantConfig fields as (name, value) pairs
    iters: int = 4
    timeout: float = 600.0
    jobs: int = 0  # 0: from the cores available
    seed: int = 0
    probes: tuple = ()  # user factory SPECs; replace the built-in variants
    strict: bool = False
    target: str | None = None  # the mode the user deploys; None: the first compiled --mode

    @property
    def target_mode(self) -> str:
        if self.target:
            return self.target
        compiled = [m for m in self.modes if m != "eager"]
        return compiled[0] if compiled else UPSTREAM_MODE

    @property
    def effective_jobs(self) -> int:
        """--jobs, else the cores this process may use, at most MAX_DEFAULT_JOBS (each worker
        holds a torch, and on a GPU a CUDA context, of its own)."""
        if self.jobs:
            return self.jobs
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        return max(1, min(cores, MAX_DEFAULT_JOBS))


def _cell(o: DiagnoseOptions, variant: str, mode: str, cg: bool, probe=None, role="matrix",
          env=(), config=None) -> CellSpec:
    skip = NO_CUDA if cg and o.device != "cuda" else None
    return CellSpec(variant=variant, mode=mode, cudagraphs=cg, device=o.device, shape=o.shape,
                    config=o.config if config is None else config, seed=o.seed, iters=o.iters,
                    probe=probe, env=env, role=role, skip_reason=skip)


def _mode_cells(o, modes, variant, mode, probe=None, role="matrix", env=(), config=None):
    if mode == "eager":
        return [_cell(o, variant, "eager", False, probe, role, env, config)]
    own = uses_cudagraphs(mode, modes)
    wanted = {"on": [own], "off": [False], "both": [True, False] if own else [False]}
    return [_cell(o, variant, mode, cg, probe, role, env, config) for cg in wanted[o.cudagraphs]]


@dataclasses.dataclass
class Plan:
    cells: list  # CellSpec, each once
    rungs: dict  # rung name -> the cells (as matrix keys) that measure it; [] for n/a
    target_mode: str


def plan(o: DiagnoseOptions, modes: dict | None = None) -> Plan:
    """Every cell to run, matrix first, then the ladder's extra cells; duplicates removed."""
    modes = torch_modes() if modes is None else modes
    unknown = [m for m in (*o.modes, o.target_mode) if m != "eager" and m not in modes]
    if unknown:
        raise PlanError(f"mode {unknown[0]!r} is not known to the installed torch: expected "
                        f"eager or one of {', '.join(modes)}")
    if o.probes:
        from .userprobe import factory_name

        subjects = [(factory_name(p), p) for p in o.probes]
    else:
        subjects = [(v, None) for v in o.variants]
    cells: list[CellSpec] = []
    for variant, probe in subjects:
        for mode in o.modes:
            cells += _mode_cells(o, modes, variant, mode, probe)
    # The ladder: rungs 1-3 on the deployed layer, in the target mode (DESIGN.md).
    target = o.target_mode
    deployed, probe = (subjects[0] if o.probes else ("buffer-clone", None))
    rungs = {
        "calibrated": [] if o.probes else _mode_cells(o, modes, "calibrated", target,
                                                      role="calibrated"),
        "full-fix": _mode_cells(o, modes, deployed, target, probe, role="full-fix"),
        "abits16": [] if o.probes else _mode_cells(o, modes, "weight-only", target,
                                                   role="abits16"),
        "suppress-errors": _mode_cells(o, modes, deployed, target, probe,
                                       role="suppress-errors", env=SUPPRESS_ENV),
        "no-compile": _mode_cells(o, modes, deployed, "eager", probe, role="no-compile"),
    }
    for rung_cells in rungs.values():
        cells += rung_cells
    cells = _dedupe(cells)
    return Plan(cells, {r: [ladder_key(c) for c in cs] for r, cs in rungs.items()}, target)


def _dedupe(cells: list[CellSpec]) -> list[CellSpec]:
    """A ladder cell identical to a matrix cell is the matrix cell."""
    seen, out = set(), []
    for c in cells:
        key = ladder_key(c)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out


def ladder_key(c: CellSpec) -> CellSpec:
    return dataclasses.replace(c, role="matrix")
