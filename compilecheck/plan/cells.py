"""The cells: variant x mode x CUDA graphs x device, the cells the ladder's rungs need, and
the caller's call patterns."""
from __future__ import annotations

import dataclasses
import os

from ..vocab import rungs as rung_registry
from ..vocab.callpatterns import PATTERNS
from .spec import CellSpec

DEFAULT_MODES = ("eager", "default", "reduce-overhead", "max-autotune",
                 "max-autotune-no-cudagraphs")
DEFAULT_VARIANTS = ("lazy", "buffer-clone", "deployed", "calibrated", "weight-only")
DEFAULT_PATTERNS = tuple(PATTERNS)  # all: on a CPU two of them are skips that cost nothing
UPSTREAM_MODE = "max-autotune"  # upstream openpi's default
NO_CUDA = "CUDA graphs need a CUDA device; none here"
MAX_DEFAULT_JOBS = 8
DEFAULT_TIMEOUT = 600.0  # seconds per cell where nothing better is known


class PlanError(ValueError):
    """Options that cannot make a matrix (one line for the user)."""


def torch_modes() -> dict[str, dict]:
    """The compile modes the installed torch knows, with their options: asked of torch
    (`list_mode_options`) once per installed torch and kept, so that a later run does not
    import inductor in the parent just for this table."""
    import json

    from ..env.files import cache_dir
    from ..env.torchsources import torch_root, torch_stamp

    path = os.path.join(cache_dir(), f"modes-{torch_stamp(torch_root())}.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    from torch._inductor import list_mode_options

    modes = {name: dict(opts) for name, opts in list_mode_options().items()}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        from ..env.files import write_atomic

        write_atomic(path, json.dumps(modes, default=str))
    except OSError:
        pass  # a read-only home: ask torch each time
    return modes


def uses_cudagraphs(mode: str, modes: dict) -> bool:
    return bool(modes.get(mode, {}).get("triton.cudagraphs"))


@dataclasses.dataclass
class DiagnoseOptions:
    device: str = "cpu"
    variants: tuple = DEFAULT_VARIANTS
    modes: tuple = DEFAULT_MODES
    cudagraphs: str = "both"  # on | off | both
    shape: str = "tiny"
    config: tuple = ()  # DuQuantConfig fields as (name, value) pairs
    iters: int = 4
    timeout: float = DEFAULT_TIMEOUT  # seconds per cell
    timeout_given: bool = True  # False: --timeout not given; a whole policy's cells get the
    # time its estimate says (decide/estimate.py: cell_timeout), measured on a sizing cell
    jobs: int = 0  # 0: from the cores available
    seed: int = 0
    probes: tuple = ()  # user factory SPECs; replace the built-in variants
    strict: bool = False
    target: str | None = None  # the mode the user deploys; None: the first compiled --mode
    patterns: tuple = DEFAULT_PATTERNS  # how the caller calls the compiled module
    judge_patterns: bool = False  # named by the user: their cells count in the verdict
    policy: str | None = None  # the built-in policy's size (its probes are in ``probes``)
    cold_start: bool = False  # measure the cold-start rows (run/coldstart.py)
    calls: int = 0  # policy calls per episode for the cold-start trade; 0: the default
    ticket: str | None = None  # diagnose --ticket DIR: the folder for a bug ticket

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
          **fields) -> CellSpec:
    skip = NO_CUDA if cg and o.device != "cuda" else None
    fields.setdefault("config", o.config)
    return CellSpec(variant=variant, mode=mode, cudagraphs=cg, device=o.device, shape=o.shape,
                    seed=o.seed, iters=o.iters, probe=probe, role=role, skip_reason=skip,
                    **fields)


def _mode_cells(o, modes, variant, mode, probe=None, role="matrix", only_off=False, **fields):
    if mode == "eager":
        return [_cell(o, variant, "eager", False, probe, role, **fields)]
    own = uses_cudagraphs(mode, modes)
    wanted = {"on": [own], "off": [False], "both": [True, False] if own else [False]}
    flags = [False] if only_off else wanted[o.cudagraphs]
    return [_cell(o, variant, mode, cg, probe, role, **fields) for cg in flags]


@dataclasses.dataclass
class Plan:
    cells: list  # CellSpec, each once: what runs
    rungs: dict  # rung name -> the cells (as matrix keys) that measure it; [] for n/a
    target_mode: str
    subject: rung_registry.Subject  # what the rungs are measured on
    deferred: dict = dataclasses.field(default_factory=dict)  # rung -> cells run if needed
    modes: dict = dataclasses.field(default_factory=dict)  # torch's modes and options
    sizing: CellSpec | None = None  # one layer of a whole policy, compiled first: its compile
    # profile sizes the whole policy's cells' time (--timeout not given) and what one that
    # runs out of time needs


def plan(o: DiagnoseOptions, modes: dict | None = None) -> Plan:
    """Every cell to run, matrix first, then the rungs' and the call patterns' cells;
    duplicates removed. The suppress-errors rung's cells are deferred: they run only when
    the cell they wrap fails to compile (otherwise the variable changes nothing). For a user's
    module (``--probe``), what runs beyond the target (other modes, call patterns) is held back
    too (``deferred["holders"]``): once the state audit has named the modules that hold what
    forward writes, it runs on one of each kind (``on_holders``)."""
    modes = torch_modes() if modes is None else modes
    unknown = [m for m in (*o.modes, o.target_mode) if m != "eager" and m not in modes]
    if unknown:
        raise PlanError(f"mode {unknown[0]!r} is not known to the installed torch: expected "
                        f"eager or one of {', '.join(modes)}")
    bad = [p for p in o.patterns if p not in PATTERNS]
    if bad:
        raise PlanError(f"call pattern {bad[0]!r}: expected one of {', '.join(PATTERNS)}")
    if o.probes:
        from .userprobes import factory_name

        subjects = [(factory_name(p), p) for p in o.probes]
    else:
        subjects = [(v, None) for v in o.variants]
    cells: list[CellSpec] = []
    target = o.target_mode
    reps = representatives(o.policy) if o.policy else []
    held: list[CellSpec] = []  # a user's module: beyond the target, on its state's holders
    for variant, probe in subjects:
        for mode in o.modes:
            if reps and mode not in ("eager", target):  # only the whole answers the target
                for path in reps:
                    cells += _mode_cells(o, modes, variant, mode, probe, scope=path)
            elif o.probes and mode not in ("eager", target):
                held += _mode_cells(o, modes, variant, mode, probe)
            else:
                cells += _mode_cells(o, modes, variant, mode, probe)
    first = subjects[0] if o.probes else ("deployed", None)
    subject = rung_registry.Subject(first[0], first[1], o.config)
    rungs, deferred = {}, {}
    for rung in rung_registry.RUNGS:
        if rung.builtin_only and subject.user:
            rungs[rung.name] = []
            continue
        fields = rung.cell(subject)
        variant, probe = fields.pop("variant"), fields.pop("probe")
        mode = fields.pop("mode", target)
        rung_cells = _mode_cells(o, modes, variant, mode, probe, role=rung.name,
                                 only_off=rung.cudagraphs == "off", **fields)
        rungs[rung.name] = [ladder_key(c) for c in rung_cells]
        if rung.name == "suppress-errors":
            deferred[rung.name] = rung_cells
        else:
            cells += rung_cells
    for scope in reps or ["whole"]:
        (held if o.probes and not reps else cells).extend(
            _pattern_cells(o, modes, subject, target, scope))
    cells += [c for c in held if c.skip_reason is not None]
    deferred["holders"] = [c for c in held if c.skip_reason is None]
    sizing = None
    if o.policy and subjects:  # its estimate sets the time, or what a time-out needs
        variant, probe = subjects[0]
        sizing = _cell(o, variant, target, False, probe, role="sizing",
                       scope=sizing_layer(o.policy))
    return Plan(_dedupe(cells), rungs, target, subject, deferred, modes, sizing)


def whole_policy(spec: CellSpec) -> bool:
    """A compiled cell of the whole built-in policy: the cells whose time a sizing cell
    sets."""
    return spec.scope == "whole" and spec.mode != "eager" and bool(spec.probe) \
        and spec.probe.startswith("policy:")


def sizing_layer(policy: str) -> str:
    """The policy's layer whose shape one call traces most often (a denoise step's expert
    projections, a camera's vision projections): the one compiled alone to size the whole."""
    from .. import probes

    size = probes.POLICY_SIZES[policy]
    traces = {"vision": size.images, "lm": 1, "expert": size.num_steps}
    calls: dict = {}
    for name, n_in, n_out, layers in size.wrapped_shapes():
        key = (n_in, n_out)
        calls[key] = calls.get(key, 0) + layers * traces[name.split(".")[0]]
    first = {}
    for path, n_in, n_out in probes.policy.policy_targets(policy):
        first.setdefault((n_in, n_out), path)
    return first[max((k for k in calls if k in first), key=lambda k: calls[k])]


def on_holders(templates: list[CellSpec], holders: dict) -> list[CellSpec]:
    """The held-back cells of a user's module, each on one module of every kind that holds
    the state its forward writes (``holders``: probe -> [{path, class, instances}], from the
    state audit), or on the whole module where the audit named no holder below it."""
    out = []
    for c in templates:
        kinds = holders.get(c.probe) or []
        out += [dataclasses.replace(c, scope=k["path"]) for k in kinds] or [c]
    return _dedupe(out)


def representatives(policy: str) -> list[str]:
    """One instance of each distinct (class, in, out) among the policy's DuQuant layers: what
    is measured for a mode or call pattern beyond the target (the whole policy is compiled only
    where only the whole can answer: as deployed in the target mode, and the warm-up rung)."""
    from .. import probes

    first: dict = {}
    for name, n_in, n_out in probes.policy.policy_targets(policy):
        first.setdefault((n_in, n_out), name)
    return list(first.values())


def _pattern_cells(o, modes, subject, target, scope="whole") -> list[CellSpec]:
    """One cell per call pattern beyond the loop: the subject warmed up (so its own state
    does not hide the caller's), in the target mode with its CUDA graphs."""
    out = []
    cg = uses_cudagraphs(target, modes)
    for name in o.patterns:
        if name == "loop":
            continue
        p = PATTERNS[name]
        skip = None
        if not cg:
            skip = f"the target mode {target} runs without CUDA graphs: nothing to check"
        elif o.device != "cuda" and p.cpu_note:
            skip = f"{NO_CUDA}; {p.cpu_note}"
        on = cg and o.device == "cuda"  # without CUDA, grad is checked with CUDA graphs off
        c = _cell(o, subject.variant, target, on, subject.probe, "call-pattern",
                  config=subject.config, warmup=-1, pattern=name, scope=scope)
        out.append(dataclasses.replace(c, skip_reason=skip))
    return out

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
