"""An estimate, labelled as one, of what compiling the whole policy costs cold, and how much
of it the recommended rung removes, from one layer's compile profile.

The model (docs/performance.md says how it was checked against a real stack of layers):
- dynamo traces every call site: each of the policy's linears costs its layer's tracing time,
  per operation in its graph;
- AOT autograd and inductor lower every operation too, but identical layers (same shape, same
  code) give identical graphs and kernels, which inductor's caches answer: that part is paid
  once per distinct layer shape, the rest per operation;
- a layer's graph grows with its blocks where forward traces per-block work (one-time weight
  preparation, unrolled loops): those operations are scaled by the blocks of each shape.
"""
from __future__ import annotations

SITES_NOTE = ("dynamo traces every call site; inductor's caches answer identical graphs "
              "(same shape, same code), so their lowering and kernels are paid once per "
              "distinct shape")


def _blocks(shape, block: int) -> int:
    return max(1, shape.in_features // block) + max(1, shape.out_features // block)


def _per_layer(cell, one_time_ops: int, run_shape, shape, block: int) -> dict:
    """Seconds to trace (per site) and to lower and compile (per distinct shape) one layer of
    ``shape``, from a cell measured at ``run_shape``."""
    p = cell.compile_profile or {}
    ph = p.get("phases") or {}
    ops = max(p.get("ops") or 0, 1)
    steady = max(ops - one_time_ops, 0)
    scaled = steady + one_time_ops * _blocks(shape, block) / _blocks(run_shape, block)
    factor = scaled / ops
    return {"trace_s": ph.get("dynamo_s", 0.0) * factor,
            "backend_s": (ph.get("aot_s", 0.0) + ph.get("inductor_s", 0.0)) * factor,
            "ops": scaled}


def policy_cost(cell, one_time_ops: int, run_shape, towers: dict, block: int) -> dict:
    """towers: name -> (layers, [Shape of each linear], traces per call). Seconds in all, and
    its parts; ``sites`` counts every traced layer call (a tower traced per image or per step
    counts that many times)."""
    trace = backend = 0.0
    sites, distinct = 0, {}
    for layers, shapes, traces in towers.values():
        for shape in shapes:
            one = _per_layer(cell, one_time_ops, run_shape, shape, block)
            trace += layers * traces * one["trace_s"]
            sites += layers * traces
            distinct[tuple(shape)] = one["backend_s"]
    backend = sum(distinct.values())
    return {"seconds": round(trace + backend, 1), "trace_s": round(trace, 1),
            "backend_s": round(backend, 1), "sites": sites, "distinct_shapes": len(distinct)}


def measured(report, decided: dict, plan) -> dict | None:
    """Where the whole policy itself ran (--policy, or a user's policy through --probe): its
    compile as deployed and with the recommended rung, measured, not estimated."""
    cold = decided.get("full-fix")
    if cold is None or cold.compile_s is None:
        return None
    rec = report.recommendation.get("name")
    fixed = decided.get(rec) if rec and rec not in ("no-compile", "full-fix") else None
    ops = (cold.compile_profile or {}).get("ops")
    summary = (f"MEASURED: compiling {cold.variant} whole as deployed in {cold.mode} took "
               f"{cold.compile_s:.1f} s to its first call(s) ({cold.graphs} graph(s), "
               f"{cold.recompiles} recompile(s){f', {ops} operations' if ops else ''})")
    out = {"measured": True, "cold": {"seconds": cold.compile_s, "ops": ops}}
    if fixed is not None and fixed.compile_s is not None:
        number = next(r.rung for r in report.ladder if r.name == rec)
        summary += (f"; with rung {number} ({rec}) {fixed.compile_s:.1f} s "
                    f"({fixed.graphs} graph(s))")
        out.update(fixed={"seconds": fixed.compile_s}, rung=rec)
    out["summary"] = summary + "."
    out["notes"] = ["On this machine, in a worker whose inductor cache may hold graphs of "
                    "earlier cells: a cold first episode is at least this long."]
    return out


def _one_time_ops(cell, audit: dict | None) -> int:
    within = (cell.compile_profile or {}).get("within") or {}
    once = (audit or {}).get("one_time") or {}
    return max((within.get(f, 0) for f in once), default=0)


def estimate(report, decided: dict, plan, options) -> dict | None:
    """The policy estimate for the built-in probe: the layer as deployed (the full-fix rung's
    cell in the target mode) against the recommended rung's cell."""
    if plan.subject.user:
        return measured(report, decided, plan)
    from ..probes import parse_shape
    from ..probes.config import DuQuantConfig
    from ..probes.shapes import POLICY

    rec = report.recommendation.get("name")
    cold = decided.get("full-fix")
    fixed = decided.get(rec) if rec and rec != "no-compile" else None
    if cold is None or not cold.compile_profile:
        return None
    block = DuQuantConfig(**dict(options.config)).block
    run_shape = parse_shape(options.shape, block)
    towers = {name: (layers, [parse_shape(s) for s in presets], traces)
              for name, (layers, presets, traces) in POLICY.items()}
    audit = report.state_writes.get(plan.subject.variant)
    before = policy_cost(cold, _one_time_ops(cold, audit), run_shape, towers, block)
    basis = f"{cold.variant} in {cold.mode}, measured at {options.shape} on {cold.device}"
    out = {"cold": before, "basis": basis}
    summary = (f"ESTIMATE: a cold compile of the whole policy ({before['sites']} DuQuant "
               f"layer calls traced in {len(towers)} towers: images x vision tower, the "
               f"prefix, denoise steps x expert; {before['distinct_shapes']} distinct shapes) "
               f"would take about {before['seconds']:.0f} s here as deployed "
               f"({before['trace_s']:.0f} s tracing, {before['backend_s']:.0f} s lowering and "
               "kernels)")
    if fixed is not None and fixed is not cold and fixed.compile_profile:
        after = policy_cost(fixed, 0, run_shape, towers, block)
        number = next(r.rung for r in report.ladder if r.name == rec)
        out.update(fixed=after, rung=rec)
        summary += (f"; with rung {number} ({rec}) about {after['seconds']:.0f} s "
                    f"({before['seconds'] - after['seconds']:.0f} s less)")
    out["summary"] = summary + "."
    out["notes"] = [SITES_NOTE + ".",
                    "Per-block work traced into the graph is scaled by each shape's blocks; the "
                    "seconds are this machine's, with a cold inductor cache.",
                    f"Measured from {basis}; an estimate, not a measurement (against a real "
                    "stack of 28 layers on a CPU its total was within about 20%, "
                    "docs/performance.md)."]
    return out


MARGIN = 3.0  # a whole policy's cell: its compile estimate times this, plus FIXED_S
FIXED_S = 120.0  # building the policy, the state audit, eager calls, timing
MIN_WHOLE_S = 300.0


def policy_towers(size) -> dict:
    """The built-in policy's towers at a size (probes/policy_sizes.py), as ``policy_cost``
    takes them: name -> (layers, [Shape of each linear], traces per call)."""
    from ..probes.shapes import Shape

    traces = {"vision": size.images, "lm": 1, "expert": size.num_steps}
    towers: dict = {}
    for name, n_in, n_out, layers in size.wrapped_shapes():
        tower = name.split(".")[0]
        if not layers or not traces[tower]:
            continue
        entry = towers.setdefault(tower, [layers, [], traces[tower]])
        entry[1].append(Shape(1, n_in, n_out))
    return {k: tuple(v) for k, v in towers.items()}


def whole_policy_estimate(layer, audit: dict | None, policy: str, n_in: int, n_out: int,
                          block: int) -> dict | None:
    """The whole built-in policy's cold compile at ``policy``, from one of its layers
    (``layer``: the sizing cell's CellResult, of shape n_in -> n_out) compiled alone."""
    from ..probes import POLICY_SIZES
    from ..probes.shapes import Shape

    if not (layer.compile_profile or {}).get("phases"):
        return None
    cost = policy_cost(layer, _one_time_ops(layer, audit), Shape(1, n_in, n_out),
                       policy_towers(POLICY_SIZES[policy]), block)
    cost["layer_compile_s"] = layer.compile_s
    return cost


def cell_timeout(estimate_s: float) -> float:
    """The time a whole policy's cell gets from its compile estimate: MARGIN times it plus
    FIXED_S, at least MIN_WHOLE_S, in whole minutes."""
    import math

    return max(MIN_WHOLE_S, 60.0 * math.ceil((MARGIN * estimate_s + FIXED_S) / 60.0))


def needed_timeout(given: float, estimate_s: float | None) -> float:
    """What a cell that ran out of ``given`` seconds needs: the estimate's time where that is
    more, else twice what it had (the estimate, if any, was short), in whole minutes."""
    import math

    from_estimate = cell_timeout(estimate_s) if estimate_s else 0.0
    want = from_estimate if from_estimate > given else 2.0 * given
    return 60.0 * math.ceil(want / 60.0)

