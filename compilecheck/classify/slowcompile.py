"""``slow_compile``: the first compile is long because of what forward traces into the graph.

The finding comes from the compile profile (observe/profile.py) and the state audit, with a cause and
fix that depend on what made the graph (docs/failure-modes.md has the measurements behind the
thresholds):

- one-time work inside forward: a function whose writes all happen on the first call(s) (the
  audit says so: weight preparation, calibration, cache building) makes a large share of the
  graph. Do it before compiling (the warm-up or calibration rung).
- a Python loop unrolled into the graph: one source line makes many operations.
- many distinct shapes: the function compiled again and again on shape guards.
- a region traced many times: a user function that runs N times per call (a denoise step in
  a loop, a tower per camera image: the audit counts the calls, observe/calltree.py) is
  inlined N times, and makes a large share of the graph. Compile it once (regional
  compilation) instead of N times.
"""
from __future__ import annotations

from ..vocab.findings import Finding
from ..vocab.messages import SHAPE_GUARD_RE

SLOW_S = 2.0  # a loop or shapes: below this the compile is not worth a finding
ONE_TIME_SHARE = 0.25  # one-time work making this share of the operations
ONE_TIME_OPS = 20  # ... and at least this many
LOOP_OPS = 32  # one source line making this many operations: an unrolled loop
SHAPE_RECOMPILES = 3
REGION_SHARE = 0.2  # a repeated region making this share of the operations


def _seconds(obs: dict, profile: dict) -> float:
    ph = profile.get("phases") or {}
    return sum(ph.get(k, 0.0) for k in ("dynamo_s", "aot_s", "inductor_s")) or \
        (obs.get("compile_s") or 0.0)


def _split(profile: dict) -> str:
    ph = profile.get("phases") or {}
    if not ph:
        return ""
    return (f" (dynamo {ph['dynamo_s']:.1f} s, AOT {ph['aot_s']:.1f} s, inductor "
            f"{ph['inductor_s']:.1f} s)")


def slow_compile(obs: dict) -> list[Finding]:
    profile = obs.get("profile") or {}
    ops = profile.get("ops") or 0
    seconds = _seconds(obs, profile)
    if not ops:
        return []
    head = (f"compiling took {seconds:.1f} s{_split(profile)} for {profile['graphs']} "
            f"graph(s) of {ops} operations")
    within = profile.get("within") or {}
    once = (obs.get("audit") or {}).get("one_time") or {}
    out = repeated_regions(obs, profile, head, seconds) if seconds >= SLOW_S else []
    if once:
        fn = max(once, key=lambda f: within.get(f, 0))
        n = within.get(fn, 0)
        if n >= ONE_TIME_OPS and n / ops >= ONE_TIME_SHARE:
            return out + [Finding(
                "slow_compile",
                f"{head}; {n} of them ({n / ops:.0%}) come from {fn}(), one-time work: in "
                f"eager it does {once[fn]} operation(s) on the first call and none on later "
                "ones (state audit), yet the graph is traced through it. Run it before "
                "compiling (the warm-up rung: eager calls on the target device, then "
                "torch.compile) so the graph holds only the steady forward.",
                _where_of(obs, fn))]
    if seconds < SLOW_S or out:
        return out
    hot = (profile.get("hot_lines") or [None])[0]
    if hot and hot["ops"] >= LOOP_OPS:
        return [Finding(
            "slow_compile",
            f"{head}; {hot['ops']} of them come from the one line {hot['where']}: a Python "
            "loop unrolled into the graph (once per block or layer). Vectorise it (one "
            "batched operation over the blocks) or move it out of forward.", hot["where"])]
    shapes = [m for m in obs.get("metrics") or [] if m.get("recompile_reason")
              and SHAPE_GUARD_RE.search(m["recompile_reason"])]
    if len(shapes) >= SHAPE_RECOMPILES:
        return [Finding(
            "slow_compile",
            f"{head}; it compiled {len(shapes) + 1} times for distinct input shapes. Mark the "
            "changing dimension dynamic (torch._dynamo.mark_dynamic) or pad inputs to a few "
            "fixed shapes.", None)]
    return []


def best_region(obs: dict, profile: dict) -> tuple[dict, int] | None:
    """The outermost repeated region that makes a large share of the graph: the state audit's
    call record (function, defined, caller, call_site, calls) and the graph operations it
    made; None where no repeated region reaches REGION_SHARE."""
    ops = profile.get("ops") or 0
    within_at = profile.get("within_at") or {}
    found = []
    for r in (obs.get("audit") or {}).get("repeats") or []:
        n = within_at.get(f"{r['defined'].rsplit(':', 1)[0]}:{r['function']}@{r['call_site']}",
                          0)
        if ops and n / ops >= REGION_SHARE:
            found.append((r, n))
    if not found:
        return None
    best = min(found, key=lambda rn: (-rn[1], rn[0]["calls"]))  # most operations, fewest calls
    seen = [best]
    while True:  # the region that calls it, where that makes as much, is the one to name
        caller = _caller_of(best[0], found)
        if caller is None or caller in seen or caller[1] < 0.9 * best[1]:
            return best
        best = caller
        seen.append(best)


def _caller_of(r: dict, found: list) -> tuple | None:
    """The repeated region whose function encloses ``r``'s call site: same name, same file,
    the last definition above the call line (several classes may each have a forward)."""
    path, _, line = r["call_site"].rpartition(":")
    best = None
    for other in found:
        o = other[0]
        o_path, _, o_line = o["defined"].rpartition(":")
        if o["function"] == r["caller"] and o_path == path and int(o_line) <= int(line) \
                and (best is None or int(o_line) > int(best[0]["defined"].rpartition(":")[2])):
            best = other
    return best


def repeated_regions(obs: dict, profile: dict, head: str, seconds: float) -> list[Finding]:
    """The repeated region (best_region): its function, how many times one call runs (and so
    traces) it, from which line, its share."""
    ops = profile.get("ops") or 0
    best = best_region(obs, profile)
    if best is None:
        return []
    r, n = best
    qual = r.get("qualname") or r["function"]
    what = f"{qual}()" if r["function"] != "forward" or "." in qual else "module forward"
    return [Finding(
        "slow_compile",
        f"{what} traced {r['calls']} times per call made {n / ops:.0%} of the {ops} "
        f"operations, about {seconds * n / ops:.0f} s of the {seconds:.1f} s compile. One call "
        f"runs it {r['calls']} times from {r['caller']}() at {r['call_site']} (it is defined "
        f"at {r['defined']}), and dynamo inlines each run into the graph ({head}). Compile the "
        "repeated region once instead of the whole function (regional compilation: "
        "torch.compile the module or function it runs), and measure the steady speed it costs.",
        r["call_site"])]


def _where_of(obs: dict, function: str) -> str | None:
    for w in (obs.get("audit") or {}).get("writes", []):
        if w.get("function") == function and w.get("where"):
            return w["where"]
    return None
