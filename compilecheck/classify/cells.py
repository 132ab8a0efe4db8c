"""Raw worker results -> report cells: findings, status, and for cells that could not run
here, what CUDA graphs would do (predicted from the measured sibling cell)."""
from __future__ import annotations

import dataclasses

from .detectors import Observed, detect_all, graph_breaks
from ..vocab.findings import status_of
from ..vocab.results import CellResult
from ..run.pool import RawResult
from ..plan.spec import CellSpec


INTERNAL = "compilecheck internal error (a bug in compilecheck, not in your module)"


def _bits(spec: CellSpec) -> tuple[int | None, int | None]:
    if spec.probe is not None:
        return None, None
    from ..probes.config import DuQuantConfig

    cfg = DuQuantConfig(**spec.config_dict)
    return cfg.wbits, 16 if spec.variant == "weight-only" else cfg.abits


def classify(raw: RawResult) -> CellResult:
    spec, obs = raw.spec, raw.obs or {}
    wbits, abits = _bits(spec)
    base = dict(variant=spec.variant, mode=spec.mode, device=spec.device,
                cudagraphs="on" if spec.cudagraphs else "off", wbits=wbits, abits=abits,
                role=spec.role, shape=spec.shape if spec.probe is None else "",
                wall_s=round(raw.wall_s, 3) if raw.wall_s and not raw.same_as else None,
                pattern=spec.pattern, scope=spec.scope,
                same_as=raw.same_as.mode if raw.same_as is not None else None,
                warmup=obs.get("warmup", max(spec.warmup, 0)))
    if raw.outcome in ("skip", "interrupted") or obs.get("skip"):
        return CellResult(status="skip", findings=[], error=obs.get("skip") or raw.detail,
                          **base)
    if raw.outcome == "internal":
        err = obs["internal_error"]
        return CellResult(status="fail", findings=[], error=f"{INTERNAL}: {err['type']}: "
                          f"{(err.get('message') or '').strip()[:300]}",
                          traceback=err.get("traceback"), **base)
    seen = Observed(spec, raw.outcome, obs, raw.detail, raw.stderr_tail)
    findings = detect_all(seen)
    err = seen.error
    error_text = None
    if err:
        error_text = f"{err['type']}: {(err.get('message') or '').strip().splitlines()[0][:400]}" \
            if (err.get("message") or "").strip() else err["type"]
    elif raw.outcome != "ok":
        error_text = f"{raw.outcome}: {raw.detail}"
    counters = seen.counters
    recompiles = sum(1 for m in seen.metrics if m.get("recompile_reason"))
    eager_ms, compiled_ms = obs.get("eager_ms"), obs.get("compiled_ms")
    if spec.mode == "eager":
        compiled_ms = None
    speedup = (eager_ms / compiled_ms) if eager_ms and compiled_ms else None
    if spec.mode == "eager" and eager_ms and not err:
        speedup = 1.0
    compiled = spec.mode != "eager" and raw.outcome == "ok"
    spread_e, spread_c = obs.get("eager_spread"), obs.get("compiled_spread")
    speedup_range = [_r(spread_e[0] / spread_c[1]), _r(spread_e[1] / spread_c[0])] \
        if spread_e and spread_c and spread_c[0] and spread_c[1] else None
    if spec.mode == "eager" and speedup == 1.0:
        speedup_range = [1.0, 1.0]
    return CellResult(
        status=status_of(findings), findings=[f.to_json() for f in findings], error=error_text,
        compile_s=_r(obs.get("compile_s")), eager_ms=_r(eager_ms), compiled_ms=_r(compiled_ms),
        speedup=_r(speedup), max_abs_err=_sig(obs.get("max_abs_err")),
        graphs=(counters.get("stats") or {}).get("unique_graphs", 0) if compiled else None,
        graph_breaks=sum(graph_breaks(counters).values()) if compiled else None,
        recompiles=recompiles if compiled else None,
        cudagraph_skips=(counters.get("inductor") or {}).get("cudagraph_skips", 0)
        if compiled else None,
        eager_spread=spread_e, compiled_spread=spread_c if spec.mode != "eager" else None,
        speedup_range=speedup_range, compile_profile=_profile(obs, spec),
        gpu_ms=obs.get("gpu_ms"), calls=len(obs.get("calls") or []) if compiled else None,
        **base)


def _r(x, nd=4):
    return None if x is None else round(float(x), nd)


def _profile(obs: dict, spec: CellSpec) -> dict | None:
    """The compile profile, with the repeated region it found (classify/slowcompile.py)."""
    from .slowcompile import region_summary

    profile = obs.get("profile")
    if not profile:
        return profile
    region = region_summary(obs, spec.mode)
    return {**profile, "repeated_region": region} if region else profile


def _sig(x, digits=3):
    """An error to ``digits`` significant digits: 2.4e-07 stays 2.4e-07 (0.0 only for 0)."""
    return None if x is None else float(f"{float(x):.{digits}g}")


def predict(cells: list[CellResult]) -> list[CellResult]:
    """A CUDA-graph cell that could not run gets what its measured sibling (same variant and
    mode, CUDA graphs off) says CUDA graphs would do."""
    from ..vocab.callpatterns import PATTERNS
    from ..plan.cells import NO_CUDA

    by_key = {(c.variant, c.mode, c.role, c.pattern, c.scope, c.cudagraphs): c for c in cells}
    out = []
    for c in cells:
        if c.status == "skip" and c.role == "call-pattern" and \
                (c.error or "").startswith(NO_CUDA):  # not "nothing to check here"
            c = dataclasses.replace(c, predicted=PATTERNS[c.pattern].predicts)
        if c.status == "skip" and c.cudagraphs == "on" and c.pattern == "loop":
            sib = by_key.get((c.variant, c.mode, c.role, c.pattern, c.scope, "off")) or next(
                (s for s in cells if s.variant == c.variant and s.mode == c.mode
                 and s.warmup == c.warmup and s.scope == c.scope and s.cudagraphs == "off"
                 and s.status != "skip"), None)
            if sib is not None and sib.status != "skip":
                c = dataclasses.replace(c, predicted=predicted_class(sib))
                if c.predicted:
                    c.error = f"{c.error}; predicted under CUDA graphs: {c.predicted} " \
                              f"(from the CUDA-graphs-off cell)"
        out.append(c)
    return out


def predicted_class(off_cell: CellResult) -> str | None:
    """What CUDA graphs turn a CUDA-graphs-off cell's findings into: the failure a finding
    predicts (a stored tensor read later: the overwrite), the same failure, or its status."""
    predicts = [f.get("predicts") for f in off_cell.findings
                if f.get("predicts") == "cudagraph_overwrite"]
    if predicts:
        return predicts[0]
    if off_cell.status == "fail" and off_cell.classes:
        return off_cell.classes[0]
    return off_cell.status if off_cell.status in ("pass", "warn") else None


def skipped(spec: CellSpec) -> RawResult:
    return RawResult(spec, "skip", None, spec.skip_reason or "skipped")

