"""`diagnose --list`: every probe and variant available, a line each."""
from __future__ import annotations


def listing() -> str:
    from . import probes
    from .probes.shapes import PRESETS
    from .registry import entry_point_probes

    lines = ["Built-in probe: DuQuant W4A8 linear (variants):"]
    lines += [f"  {v.name:<14} {v.summary}" for v in probes.VARIANTS.values()]
    eps = entry_point_probes()
    lines += ["", "Installed probes (entry-point group compilecheck.probes; --probe NAME):"]
    lines += [f"  {name:<14} {target}" for name, target in eps.items()] or ["  none"]
    lines += ["", "Shapes (--shape; or TOKENSxINxOUT):"]
    lines += [f"  {name:<16} {shape}  {what}" for name, (shape, what) in PRESETS.items()]
    return "\n".join(lines)
