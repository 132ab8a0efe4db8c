"""The time each cell gets: ``--timeout`` where the user gave it; else a whole policy's cells
get what the estimate of its compile says (decide/estimate.py), measured on a sizing cell
(one of its layers compiled alone, run first). A cell that runs out of time is no verdict:
the recommendation gives the command with the time it needs (``rerun_command``)."""
from __future__ import annotations

import sys

from ..classify import cells as cls_
from ..plan.cells import DiagnoseOptions, whole_policy


class Sizing:
    """The time each cell gets: ``--timeout`` where given; else a whole policy's cells get what
    the estimate of its compile says (decide/estimate.py), once the sizing cell (one of its
    layers compiled alone) has answered; until then, and for every other cell, the default."""

    def __init__(self, options: DiagnoseOptions, the_plan):
        self.options, self.plan = options, the_plan
        self.whole_s: float | None = None  # the whole policy's cells' time, once sized
        self.estimate_s: float | None = None
        self.info: dict | None = None

    def timeout_for(self, spec) -> float:
        if self.whole_s is not None and whole_policy(spec):
            return self.whole_s
        return self.options.timeout

    def measured(self, raw) -> str:
        """The sizing cell's answer: the estimate and the time it gives; the progress line."""
        from .estimate import cell_timeout, whole_policy_estimate
        from ..probes.config import DuQuantConfig

        spec = raw.spec
        layer = cls_.classify(raw)
        shape = next(((i, o) for p, i, o in _targets(self.options.policy) if p == spec.scope),
                     None)
        est = whole_policy_estimate(layer, (raw.obs or {}).get("audit"), self.options.policy,
                                    *shape, DuQuantConfig(**dict(self.options.config)).block) \
            if shape and layer.status != "skip" else None
        if not est:
            why = layer.error or "no compile profile"
            self.info = {"layer": spec.scope, "error": why}
            return (f"compilecheck: sizing did not measure ({why[:120]}); the whole policy's "
                    f"cells keep {self.options.timeout:.0f} s each")
        self.estimate_s = est["seconds"]
        self.info = {"layer": spec.scope, "layer_compile_s": layer.compile_s,
                     "estimate_s": est["seconds"], "sites": est["sites"],
                     "distinct_shapes": est["distinct_shapes"], "timeout_s": None}
        said = (f"compilecheck: {spec.scope} compiled alone in {layer.compile_s or 0:.1f} s; "
                f"the whole policy's compile, estimated from it: about {est['seconds']:.0f} s "
                f"({est['sites']} layer calls traced, {est['distinct_shapes']} distinct shapes)")
        if self.options.timeout_given:  # kept; the estimate says what a time-out needs
            return said + f"; --timeout {self.options.timeout:g} kept"
        self.whole_s = max(self.options.timeout, cell_timeout(est["seconds"]))  # never less
        self.info["timeout_s"] = self.whole_s
        return said + f"; each whole-policy cell gets {self.whole_s:.0f} s"

    def annotate(self, est: dict | None) -> dict | None:
        """The report's estimate, with what the whole policy's cells were given and why."""
        if not self.info:
            return est
        est = dict(est or {"summary": "Whole policy: not measured."})
        est["sizing"] = self.info
        if self.info.get("timeout_s") is None and "error" not in self.info:
            note = (f"The whole policy's cold compile, estimated from {self.info['layer']} "
                    f"compiled alone ({self.info['layer_compile_s'] or 0:.1f} s): about "
                    f"{self.estimate_s:.0f} s; its cells had --timeout "
                    f"{self.options.timeout:g} s.")
        elif self.whole_s is not None:
            note = (f"Each whole-policy cell was given {self.whole_s:.0f} s: "
                    f"{self.info['layer']} compiled alone in "
                    f"{self.info['layer_compile_s'] or 0:.1f} s, so the whole policy's cold "
                    f"compile was estimated at about {self.estimate_s:.0f} s (decide/"
                    f"estimate.py); three times that plus 120 s, at least "
                    f"{self.options.timeout:.0f} s.")
        else:
            note = (f"Sizing failed ({self.info['error'][:160]}): the whole-policy cells "
                    f"kept {self.options.timeout:.0f} s.")
        est["notes"] = [*(est.get("notes") or []), note]
        return est


def _targets(policy: str) -> list:
    from .. import probes

    return probes.policy.policy_targets(policy)


def rerun_command(timeout: float) -> str:
    """The command that gives every cell ``timeout`` seconds: this one, with its --timeout
    replaced, where this process is `compilecheck diagnose`; else the option to set."""
    import shlex

    argv = sys.argv[1:]
    if not argv or argv[0] != "diagnose":
        return f"diagnose again with timeout={timeout:.0f} (seconds per cell)"
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--timeout":
            skip = True
            continue
        if a.startswith("--timeout="):
            continue
        out.append(a)
    return shlex.join(["compilecheck", *out, "--timeout", f"{timeout:.0f}"])
