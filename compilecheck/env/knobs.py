"""The knob lint: the TORCH*/OPENPI_* variables set, each judged by what the installed torch
does with it (torchsources.py says whether torch reads it), with the traps explained: a "0"
that enables, a mode that overrides an environment default, a variable read only when
torch.compile is called. The resolved config values and the modes' overrides are asked of
torch itself.
"""
from __future__ import annotations

import re

from .torchsources import TorchEnvIndex, _config_key, _enclosing_function

KNOB_RE = re.compile(r"^(TORCH\w*|PYTORCH_\w+|OPENPI_\w+|CUDA_LAUNCH_BLOCKING)$")
OFF_LOOKING = {"0", "false", "no", "off", "none", "disable", "disabled", ""}
ON_LOOKING = {"1", "true", "yes", "on", "enable", "enabled"}

# Read by software other than torch; what the lint says of them.
OUTSIDE_TORCH = {
    "CUDA_LAUNCH_BLOCKING": (
        "the CUDA runtime", "trap",
        "CUDA_LAUNCH_BLOCKING=1 makes every kernel launch synchronous: a debugging switch "
        "that serialises the GPU and distorts every timing; unset it outside debugging."),
}
# The openpi DuQuant layer's variables (shared/REFERENCE.md section 3).
OPENPI_EXTRA = {
    "OPENPI_DUQUANT_SCOPE": "which part of the policy is quantised",
    "OPENPI_DUQUANT_INCLUDE": "regex over layer names to quantise",
    "OPENPI_DUQUANT_EXCLUDE": "regex over layer names to leave in float",
    "OPENPI_DUQUANT_WBITS": "per-layer weight bits, name:bits,...",
    "OPENPI_DUQUANT_BLOCK_OUT": "output-rotation block size (default: BLOCK)",
    "OPENPI_DUQUANT_DRYRUN": "list the layers that would be quantised, change nothing",
    "OPENPI_DUQUANT_PACKDIR": "folder of pre-packed quantised weights",
}


def _resolved(mod: str, key: str):
    import importlib

    obj = importlib.import_module(mod)
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def _modes_setting(key: str) -> dict:
    try:
        from torch._inductor import list_mode_options

        return {m: o[key] for m, o in list_mode_options().items() if key in o}
    except Exception:
        return {}


def _openpi(name: str, value: str) -> dict:
    from ..probes.config import ENV_PREFIX, ConfigError, DuQuantConfig

    suffix = name[len(ENV_PREFIX):] if name.startswith(ENV_PREFIX) else None
    if suffix in DuQuantConfig.ENV:
        field, parse = DuQuantConfig.ENV[suffix]
        try:
            parsed = parse(name, value)
        except ConfigError as e:
            return dict(verdict="invalid", advice=f"the DuQuant layer refuses it: {e}")
        return dict(verdict="ok", advice=f"read by the openpi DuQuant layer: {field}={parsed!r}")
    if name in OPENPI_EXTRA:
        return dict(verdict="ok", advice=f"read by the openpi DuQuant layer: {OPENPI_EXTRA[name]}")
    if name == "OPENPI_DISABLE_TORCH_COMPILE":
        on = value.strip().lower() in ("1", "true", "yes")
        return dict(verdict="ok", advice="read by openpi: torch.compile is "
                    + ("DISABLED (eager, ~4 min per episode)" if on else
                       "kept (only 1/true/yes disable it)"))
    return dict(verdict="ignored", advice="not a variable the openpi DuQuant layer or "
                                          "compilecheck knows; check the spelling")


def judge(name: str, value: str, index: TorchEnvIndex) -> dict:
    """One knob finding: {name, value, read_by_torch, verdict, advice}."""
    row = {"name": name, "value": value, "read_by_torch": None, "verdict": "ok", "advice": ""}
    if name.startswith("OPENPI_"):
        row["read_by_torch"] = False
        row.update(_openpi(name, value))
        return row
    if name in OUTSIDE_TORCH:
        who, verdict, advice = OUTSIDE_TORCH[name]
        row.update(read_by_torch=False, verdict=verdict,
                   advice=f"read by {who}, not by torch. {advice}" if value.strip() == "1" else
                   f"read by {who}, not by torch; only 1 turns it on.")
        if value.strip() != "1":
            row["verdict"] = "ok"
        return row
    where = index.where(name)
    row["read_by_torch"] = bool(where)
    if not where:
        hint = index.similar(name)
        alt = f" Did you mean {' or '.join(hint)}?" if hint else ""
        if "CUDAGRAPH" in name or "CUDA_GRAPH" in name:
            alt += (" To run without CUDA graphs use mode='max-autotune-no-cudagraphs', or "
                    "torch.compile(options={..., 'triton.cudagraphs': False}).")
        row.update(verdict="ignored", advice=f"no code in torch {index.version} reads {name}: "
                                             f"setting it does nothing.{alt}")
        return row
    notes, verdict = [], "ok"
    found = _config_key(index.root, name)
    if found:
        mod, key = found
        try:
            resolved = _resolved(mod, key)
        except Exception:
            resolved = None
        short = mod.split(".")[-2] if mod.endswith(".config") else mod
        notes.append(f"sets {mod}.{key} (now {resolved!r}), read once when torch imports it")
        low = value.strip().lower()
        if isinstance(resolved, bool):
            if low in OFF_LOOKING and resolved:
                verdict = "trap"
                notes.append(f"the value {value!r} reads as off but turns {key} ON (torch takes "
                             f"any non-empty value as true); unset the variable to turn it off")
            elif low in ON_LOOKING and not resolved:
                verdict = "trap"
                notes.append(f"the value {value!r} reads as on but leaves {key} OFF; torch "
                             f"accepts a different spelling (see {short} config)")
        overriding = _modes_setting(key)
        if overriding:
            verdict = "overridden" if verdict == "ok" else verdict
            modes = ", ".join(f"{m} ({key}={v})" for m, v in overriding.items())
            notes.append(f"a compile mode overrides this default: {modes}. Under those modes "
                         "no variable changes it")
            if key == "triton.cudagraphs":
                notes.append("to run without CUDA graphs use mode='max-autotune-no-cudagraphs' "
                             "or options=list_mode_options(mode) with triton.cudagraphs False")
    else:
        fns = [_enclosing_function(index.root, p, name) for p in where if p.endswith(".py")]
        fn = next((f for f in fns if f), None)
        if fns and all(f and re.fullmatch(r"_?(compile|optimize)", f) for f in fns):
            verdict = "trap" if verdict == "ok" else verdict
            notes.append(f"read inside {fn}(), i.e. when torch.compile() is called, not "
                         "later: set it before the model is compiled; changing it afterwards "
                         "does not affect functions already compiled")
        elif fn:
            notes.append(f"read at run time inside {fn}() ({where[0]})")
        else:
            notes.append(f"read by {where[0]}")
    if name == "TORCH_LOGS":
        notes.append("while TORCH_LOGS is set, torch._logging.set_logs() calls are ignored")
    row.update(verdict=verdict, advice="; ".join(notes) + ".")
    return row


def set_knobs(environ=None) -> dict[str, str]:
    if environ is None:
        from .. import USER_ENVIRON as environ
    return {k: v for k, v in sorted(environ.items())
            if KNOB_RE.match(k) and not k.startswith("COMPILECHECK_")}


def lint(environ=None, index: TorchEnvIndex | None = None) -> list[dict]:
    knobs = set_knobs(environ)
    if not knobs:
        return []
    index = index or TorchEnvIndex()
    return [judge(k, v, index) for k, v in knobs.items()]


def failing(knobs: list[dict]) -> list[dict]:
    """Knobs that --strict refuses: no effect, a trap, overridden, or invalid."""
    return [k for k in knobs if k["verdict"] in ("ignored", "trap", "overridden", "invalid")]
