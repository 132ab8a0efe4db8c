"""`diagnose --list`: every probe and variant available, a line each."""
from __future__ import annotations


def listing() -> str:
    from .. import probes
    from ..probes.shapes import PRESETS
    from .entrypoints import entry_point_probes

    lines = ["Built-in probe: DuQuant W4A8 linear (variants):"]
    lines += [f"  {v.name:<14} {v.summary}" for v in probes.VARIANTS.values()]
    eps = entry_point_probes()
    lines += ["", "Installed probes (entry-point group compilecheck.probes; --probe NAME):"]
    lines += [f"  {name:<14} {target}" for name, target in eps.items()] or ["  none"]
    lines += ["", "Shapes (--shape; or TOKENSxINxOUT):"]
    lines += [f"  {name:<16} {shape}  {what}" for name, (shape, what) in PRESETS.items()]
    lines += ["", "Policy sizes (--policy SIZE: the pi0-shaped sampling function, compiled whole; "
              "its projections DuQuant layers of --variant, default deployed):"]
    for name, size in probes.POLICY_SIZES.items():
        n = len(probes.policy.policy_targets(name))
        lines.append(f"  {name:<16} {n} DuQuant layers, {size.num_steps} denoise steps: "
                     f"{size.description}")
    return "\n".join(lines)
