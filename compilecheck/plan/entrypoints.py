"""Probes that installed packages register under the entry-point group compilecheck.probes."""
from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "compilecheck.probes"


def entry_point_probes() -> dict[str, str]:
    """name -> "module:factory" for every registered probe."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}
