"""`compilecheck diagnose`'s inputs checked and turned into DiagnoseOptions: each bad one is
refused with one line naming the option and what is accepted."""
from __future__ import annotations


POLICY_VARIANTS = ("deployed",)  # --policy: the layer the fork ships
POLICY_MODES = ("eager", "reduce-overhead")  # --policy: the fork compiles sample_actions so


class OptionError(ValueError):
    """A bad input: its one line for the user."""


def _refuse(message: str):
    raise OptionError(message)


def ticket_folder(path: str) -> str:
    """``--ticket DIR``: a folder that does not exist yet (its parent writable) or an empty
    one; its absolute path. Checked before any work, without torch."""
    import os

    folder = os.path.abspath(path)
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            _refuse(f"--ticket {path}: is a file; expected a folder (new or empty)")
        if os.listdir(folder):
            _refuse(f"--ticket {path}: folder is not empty; give a new or an empty folder")
        parent = folder
    else:
        parent = os.path.dirname(folder)
        if not os.path.isdir(parent):
            _refuse(f"--ticket {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        _refuse(f"--ticket {path}: folder {parent} is not writable")
    return folder


def diagnose_options(device, variants, modes, cudagraphs, shape, wbits, abits, block, act_pct,
                     permute, iters, timeout, jobs, seed, probes, strict, patterns=(),
                     policy=None, cold_start=False, calls=None, ticket=None):
    """``compilecheck diagnose``'s inputs, every one checked (torch is needed here), as the
    DiagnoseOptions they make; OptionError (one line for the user) on the first bad one."""
    ticket = ticket_folder(ticket) if ticket else None  # before torch is imported
    from .. import probes as builtin
    from ..probes.config import ConfigError, DuQuantConfig
    from .userprobes import ProbeError, call_factory, load_factory, policy_spec, split_spec

    for v in variants:
        if v not in builtin.VARIANTS:
            _refuse(f"--variant {v!r}: expected one of {', '.join(builtin.VARIANTS)}")
    try:
        cfg = DuQuantConfig.from_env(wbits=wbits, abits=abits, block=block, act_pct=act_pct,
                                     permute=permute)
    except (ConfigError, TypeError) as e:
        _refuse(str(e).replace("wbits=", "--wbits ").replace("abits=", "--abits ")
             .replace("block=", "--block ").replace("act_pct=", "--act-pct "))
    try:
        builtin.parse_shape(shape, cfg.block)
    except ValueError as e:
        _refuse(f"--shape: {e}")
    if policy is not None:
        if policy not in builtin.POLICY_SIZES:
            _refuse(f"--policy {policy!r}: expected one of {', '.join(builtin.POLICY_SIZES)}")
        try:
            builtin.POLICY_SIZES[policy].check_block(cfg.block)
        except ValueError as e:
            _refuse(f"--policy {policy}: {e}")
        # the policy is compiled whole as the fork compiles it: its own mode by default
        probes = tuple(policy_spec(policy, v) for v in (variants or POLICY_VARIANTS))
        modes = modes or POLICY_MODES
        patterns = patterns or ("loop",)
        variants = ()
    if timeout is not None and timeout <= 0:
        _refuse(f"--timeout {timeout:g}: expected a positive number of seconds")
    if calls is not None and calls < 1:
        _refuse(f"--calls {calls}: expected at least 1 policy call per episode")
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        _refuse("--device cuda: no usable CUDA device here (torch.cuda.is_available() is False); "
             "use --device cpu or auto")
    from .cells import (DEFAULT_MODES, DEFAULT_PATTERNS, DEFAULT_TIMEOUT, UPSTREAM_MODE,
                        DiagnoseOptions, PlanError, plan, torch_modes)

    known = torch_modes()
    for m in modes:
        if m != "eager" and m not in known:
            _refuse(f"--mode {m!r}: not a mode of the installed torch {torch.__version__}; "
                 f"expected eager or one of {', '.join(known)}")
    for spec in probes:  # loaded and called here, so a broken one is refused before any worker
        if policy is not None:
            break  # the built-in policy: its size and block were checked above
        try:
            split_spec(spec)
            call_factory(load_factory(spec), spec)
        except ProbeError as e:
            _refuse(str(e))
    default_modes = tuple(m for m in DEFAULT_MODES if m == "eager" or m in known)
    options = DiagnoseOptions(
        device=device, variants=tuple(dict.fromkeys(variants)) or tuple(builtin.VARIANTS),
        modes=tuple(dict.fromkeys(modes)) or default_modes, cudagraphs=cudagraphs, shape=shape,
        config=tuple(sorted(cfg.__dict__.items())), iters=iters,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        timeout_given=timeout is not None,
        jobs=jobs or 0, seed=seed, probes=tuple(probes), strict=strict,
        target=None if any(m != "eager" for m in modes) else UPSTREAM_MODE,
        patterns=tuple(dict.fromkeys(("loop", *patterns))) if patterns else DEFAULT_PATTERNS,
        judge_patterns=bool(patterns) and policy is None, policy=policy,
        cold_start=cold_start, calls=calls or 0,
        ticket=ticket)
    try:
        plan(options, known)
    except PlanError as e:
        _refuse(str(e))

    return options
