"""What the workers' raw results hold beyond the cells: the state audits (the report's
``state_writes``), the modules of each kind that hold forward's state (where the cells beyond
the target run), the repeated region the target's compile profile named (what the regional
cold-start rows compile), and the suppress-errors cells a compile error calls for."""
from __future__ import annotations

import dataclasses

from ..plan.cells import ladder_key
from . import cells as cls_


def repeated_region(results: dict, target_mode: str) -> dict | None:
    """The repeated region the target cell's compile profile named (its function, where it is
    defined and held, how many times one call runs it, its share of the graph): what the cold
    start's regional rows compile; ``{"none": why}`` where the profile named none a user can
    compile; None where no profile was taken."""
    from .slowcompile import REGION_SHARE, best_region, region_name

    for spec, raw in results.items():
        obs = raw.obs or {}
        if spec.mode == target_mode and spec.role == "matrix" and spec.scope == "whole" \
                and obs.get("profile"):
            best = best_region(obs, obs["profile"])
            if not best:
                return {"none": "no repeated region makes at least "
                                f"{REGION_SHARE:.0%} of the compiled graph (compile profile): "
                                "nothing worth compiling alone"}
            r, n = best
            if not r["compilable"]:
                return {"none": f"the repeated region {region_name(r)} is not a method or "
                                "forward of anything the module holds (a closure made anew "
                                "on every call, or a plain function): no regional compile can "
                                "target it"}
            keep = ("function", "defined", "caller", "call_site", "calls", "qualname", "owner",
                    "owner_class", "instances")
            return {**{k: r.get(k) for k in keep},
                    "share": round(n / max(obs["profile"].get("ops") or 1, 1), 3)}
    return None


def holders_of(results: dict) -> dict:
    """probe -> the modules of each kind that hold what its forward writes (state audit)."""
    out: dict = {}
    for spec, raw in results.items():
        audit = (raw.obs or {}).get("audit")
        if audit and spec.probe not in out and spec.scope == "whole":
            out[spec.probe] = audit.get("holders") or []
    return out


def needed_deferred(the_plan, results) -> list:
    """The suppress-errors rung's cells, where the cell each wraps failed to compile (only
    then can the variable change anything)."""
    out = []
    for spec in the_plan.deferred.get("suppress-errors", []):
        twin = dataclasses.replace(spec, env=(), role="matrix")
        raw = next((r for s, r in results.items() if ladder_key(s) == ladder_key(twin)), None)
        if raw is None or raw.outcome != "ok" or spec.skip_reason:
            continue
        cell = cls_.classify(raw)
        if "compile_error" in cell.classes:
            out.append(spec)
    return out


def state_writes(results: dict) -> dict:
    """variant -> what its forward writes (the state audit), once per variant."""
    out: dict = {}
    for spec, raw in results.items():
        audit = (raw.obs or {}).get("audit")
        if audit and spec.variant not in out and spec.role == "matrix" and spec.scope == "whole":
            out[spec.variant] = {k: audit.get(k) for k in ("calls", "warmup", "stopped",
                                                           "seconds", "error", "writes",
                                                           "opaque", "aliases")}
    return out
