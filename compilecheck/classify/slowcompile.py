"""``slow_compile``: the first compile is long because of what forward traces into the graph,
and the named change would save a good part of it.

The finding comes from the compile profile (observe/profile.py) and the state audit, with a cause and
fix that depend on what made the graph (docs/failure-modes.md has the rule and the measurements
behind it):

- one-time work inside forward: a function whose writes all happen on the first call(s) (the
  audit says so: weight preparation, calibration, cache building) makes a large share of the
  graph. Do it before compiling (the warm-up or calibration rung).
- a Python loop unrolled into the graph: one source line makes many operations.
- many distinct shapes: the function compiled again and again on shape guards.
- a region traced many times: a user function that runs N times per call (a denoise step in
  a loop, a tower per camera image: the audit counts the calls, observe/calltree.py) is
  inlined N times, and makes a large share of the graph. Compile it once (regional
  compilation) instead of N times.

Worth the user's time: only where the compile costs at least TARGET_S seconds at the target
(measured; on a CPU, the CPU's seconds times what the H200 runs measured for the mode) and the
named change saves at least SAVED_S of them and SAVED_SHARE of the compile. A module that
compiles in a few seconds gets none, whatever its shares.
"""
from __future__ import annotations

from ..vocab.findings import Finding
from ..vocab.messages import SHAPE_GUARD_RE

TARGET_S = 60.0  # a compile shorter than a minute at the target is not worth a code change
SAVED_S = 30.0  # ... nor a change that saves less than half a minute of it
SAVED_SHARE = 0.25  # ... or less than a quarter of it
ONE_TIME_SHARE = 0.25  # one-time work making this share of the operations
ONE_TIME_OPS = 20  # ... and at least this many
LOOP_OPS = 32  # one source line making this many operations: an unrolled loop
SHAPE_RECOMPILES = 3
REGION_SHARE = 0.2  # a repeated region making this share of the operations
# A GPU compile over a CPU compile of the same cells, per mode: the built-in layer (tiny,
# deployed) on an H200 (tests/data/gpu/h200-torch2.11.0/audit-release) against this project's
# 2-core CPU (docs/performance.md): default 9.9 / 6.1 s, max-autotune 34.2 / 6.1 s (it tunes
# kernels), max-autotune-no-cudagraphs 24.4 / 6.1 s. Never below 1: a CPU figure is a floor.
GPU_OVER_CPU = {"default": 1.6, "reduce-overhead": 1.6, "max-autotune": 5.6,
                "max-autotune-no-cudagraphs": 4.0}


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


class Cost:
    """What the compile costs at the target, and whether a change saving a share is worth it.
    On a CPU, the seconds are the compile's work (its wall seconds times the share of them the
    process ran: a crowded machine stretches wall time, not the work), times GPU_OVER_CPU."""

    def __init__(self, seconds: float, device: str, mode: str, cpu_share: float | None = None):
        self.seconds = seconds
        self.factor = 1.0 if device == "cuda" else max(1.0, GPU_OVER_CPU.get(mode, 1.0))
        work = seconds * cpu_share if device != "cuda" and cpu_share else seconds
        self.target_s = work * self.factor

    def worth(self, saved_share: float) -> bool:
        saved = self.target_s * saved_share
        return self.target_s >= TARGET_S and saved >= SAVED_S and saved_share >= SAVED_SHARE

    def saves(self, saved_share: float) -> str:
        """The seconds a share of the compile is, in words (measured here)."""
        return f"about {self.seconds * saved_share:.0f} s of the {self.seconds:.1f} s compile"

    def at_target(self, saved_share: float) -> str:
        """On a CPU, the same on a GPU, as an estimate (a sentence, or nothing)."""
        if self.factor <= 1.0:
            return ""
        return (f" On a GPU about {self.target_s * saved_share:.0f} s of {self.target_s:.0f} s"
                f" (an estimate: {self.factor:g}x the compile's CPU seconds here, the ratio "
                "the H200 runs measured for this mode).")


def slow_compile(obs: dict, device: str = "cpu", mode: str = "default") -> list[Finding]:
    profile = obs.get("profile") or {}
    ops = profile.get("ops") or 0
    seconds = _seconds(obs, profile)
    if not ops:
        return []
    cost = Cost(seconds, device, mode, profile.get("cpu_share"))
    head = (f"compiling took {seconds:.1f} s{_split(profile)} for {profile['graphs']} "
            f"graph(s) of {ops} operations")
    within = profile.get("within") or {}
    once = (obs.get("audit") or {}).get("one_time") or {}
    out = repeated_regions(obs, profile, head, cost, mode)
    if once:
        fn = max(once, key=lambda f: within.get(f, 0))
        n = within.get(fn, 0)
        if n >= ONE_TIME_OPS and n / ops >= ONE_TIME_SHARE and cost.worth(n / ops):
            return out + [Finding(
                "slow_compile",
                f"{head}; {n} of them ({n / ops:.0%}) come from {fn}(), one-time work, "
                f"{cost.saves(n / ops)}: in eager it does {once[fn]} operation(s) on the first "
                "call and none on later ones (state audit), yet the graph is traced through "
                "it. Run it before compiling (the warm-up rung: eager calls on the target "
                "device, then torch.compile) so the graph holds only the steady forward."
                + cost.at_target(n / ops), _where_of(obs, fn))]
    if out:
        return out
    hot = (profile.get("hot_lines") or [None])[0]
    if hot and hot["ops"] >= LOOP_OPS and cost.worth(hot["ops"] / ops):
        return [Finding(
            "slow_compile",
            f"{head}; {hot['ops']} of them come from the one line {hot['where']}, "
            f"{cost.saves(hot['ops'] / ops)}: a Python loop unrolled into the graph (once per "
            "block or layer). Vectorise it (one batched operation over the blocks) or move it "
            "out of forward." + cost.at_target(hot["ops"] / ops), hot["where"])]
    shapes = [m for m in obs.get("metrics") or [] if m.get("recompile_reason")
              and SHAPE_GUARD_RE.search(m["recompile_reason"])]
    share = len(shapes) / (len(shapes) + 1)
    if len(shapes) >= SHAPE_RECOMPILES and cost.worth(share):
        return [Finding(
            "slow_compile",
            f"{head}; it compiled {len(shapes) + 1} times for distinct input shapes, "
            f"{cost.saves(share)}. Mark the changing dimension dynamic "
            "(torch._dynamo.mark_dynamic) or pad inputs to a few fixed shapes."
            + cost.at_target(share), None)]
    return []


def _key(r: dict) -> str:
    return f"{r['defined'].rsplit(':', 1)[0]}:{r['function']}@{r['call_site']}"


def compilable(r: dict) -> bool:
    """A user can compile it as the code is: a method of an object the module holds, or a
    module's forward (a closure made anew on every call, or a plain function, is neither).
    A record from before owners were kept counts as compilable."""
    if "owner" not in r:
        return True
    return not r.get("closure") and r.get("owner") is not None


def best_region(obs: dict, profile: dict) -> tuple[dict, int] | None:
    """The repeated region to compile, and the graph operations it made; None where no
    repeated region reaches REGION_SHARE. The outermost repeated region that makes a large
    share of the graph is the loop that multiplies it; the region named is the nearest one a
    user can compile (``compilable``): that loop, a repeated caller of it, or the largest one
    inside it that makes most of it. The record returned is the state audit's (function, defined, caller,
    call_site, calls, owner, ...) plus ``loop`` (the multiplier where it is another region),
    ``inner`` (a repeated region inside it, where one repeats more often) and ``compilable``."""
    ops = profile.get("ops") or 0
    within_at = profile.get("within_at") or {}
    found = []
    for r in (obs.get("audit") or {}).get("repeats") or []:
        n = within_at.get(_key(r), 0)
        if ops and n / ops >= REGION_SHARE:
            found.append((r, n))
    if not found:
        return None
    loop = min(found, key=lambda rn: (-rn[1], rn[0]["calls"]))  # most operations, fewest calls
    seen = [loop]
    while True:  # the region that calls it, where that makes as much, is the loop
        caller = _caller_of(loop[0], found)
        if caller is None or caller in seen or caller[1] < 0.9 * loop[1]:
            break
        loop = caller
        seen.append(loop)
    target = loop if compilable(loop[0]) else None
    up, seen = loop, [loop]
    while target is None:  # a closure maps to the repeated region that calls it
        up = _caller_of(up[0], found)
        if up is None or up in seen:
            break
        seen.append(up)
        if compilable(up[0]):
            target = up
    if target is None:  # ... else to the largest one inside it making most of it
        near = [x for x in found if compilable(x[0]) and 0.5 * loop[1] <= x[1] <= loop[1]]
        target = max(near, key=lambda rn: (rn[1], -rn[0]["calls"])) if near else None
    r = dict((target or loop)[0])
    r["compilable"] = target is not None
    if target is not None and target is not loop:
        r["loop"] = {k: loop[0][k] for k in ("function", "qualname", "calls", "call_site",
                                              "caller") if k in loop[0]}
        r["loop"]["closure"] = bool(loop[0].get("closure"))
    inner = [x for x in found if x[0] is not (target or loop)[0] and x[0] is not loop[0]
             and x[0]["calls"] > r["calls"] and x[0]["calls"] % r["calls"] == 0
             and x[1] <= (target or loop)[1] and compilable(x[0])]
    if inner:
        i = max(inner, key=lambda rn: rn[1])[0]
        r["inner"] = {k: i.get(k) for k in ("function", "qualname", "calls", "owner_class",
                                             "instances", "owner")}
    return r, (target or loop)[1]


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


def seconds_of(cost: Cost, share: float) -> str:
    return f"{cost.seconds * share:.0f} s of {cost.seconds:.0f} s compiling"


def region_name(r: dict) -> str:
    qual = r.get("qualname") or r["function"]
    return f"{qual}()" if r["function"] != "forward" or "." in qual else "module forward"


def compile_line(r: dict, mode: str) -> str | None:
    """The line to paste that compiles the region alone, from where the module holds it."""
    if not compilable(r) or r.get("owner") is None:
        return None
    fn, owner = r["function"], r["owner"]
    if fn == "forward" and (r.get("instances") or 1) > 1:
        return (f"[m.compile(mode={mode!r}) for m in model.modules() "
                f"if isinstance(m, {r.get('owner_class')})]")
    target = "model" + (f".{owner}" if owner else "")
    if fn == "forward":
        return f"{target}.compile(mode={mode!r})"
    if (r.get("instances") or 1) > 1:
        return (f"for m in model.modules():  if isinstance(m, {r.get('owner_class')}): "
                f"m.{fn} = torch.compile(m.{fn}, mode={mode!r})")
    return f"{target}.{fn} = torch.compile({target}.{fn}, mode={mode!r})"


def repeated_regions(obs: dict, profile: dict, head: str, cost: Cost,
                     mode: str = "default") -> list[Finding]:
    """The repeated region (best_region): its function, how many times one call runs (and so
    traces) it, from which line, its share; the loop that multiplies it, and the line that
    compiles it alone."""
    ops = profile.get("ops") or 0
    best = best_region(obs, profile)
    if best is None:
        return []
    r, n = best
    saved = n / ops * (1 - 1 / r["calls"])  # traced once instead of N times
    if not cost.worth(saved):
        return []
    text = (f"{region_name(r)} traced {r['calls']} times a call made {n / ops:.0%} of the "
            f"{ops} operations, {seconds_of(cost, n / ops)}. One call runs it "
            f"{r['calls']} times "
            f"from {r['caller']}() at {r['call_site']} (it is defined at {r['defined']})")
    loop = r.get("loop")
    if loop:
        text += (f", inside {region_name(loop)}, which runs {loop['calls']} times from "
                 f"{loop['caller']}() at {loop['call_site']}"
                 + (" (a closure, made anew each time its function runs: no compile can target it)"
                    if loop.get("closure") else ""))
    inner = r.get("inner")
    if inner:
        text += (f"; inside it {region_name(inner)} runs {inner['calls']} times"
                 + (f" ({inner['instances']} {inner['owner_class']} instances)"
                    if inner.get("instances") else ""))
    text += f", and dynamo inlines each run into the graph ({head}). "
    line = compile_line(r, mode)
    if line:
        text += (f"Compile it once instead (regional compilation): `{line}` instead of "
                 "compiling the whole module; --cold-start measures that (its regional row) "
                 "and the steady speed it costs.")
    else:
        why = "a closure made anew on every call" if r.get("closure") else \
            "not a method of anything the module holds"
        text += (f"No regional compile can target it as the code is ({why}): make it a "
                 "method of the module (or of an object the module holds) and compile that.")
    return [Finding("slow_compile", text + cost.at_target(n / ops), r["call_site"])]


def region_summary(obs: dict, mode: str) -> dict | None:
    """The repeated region of a cell, for its compile profile in the report whether or not it
    is worth a finding: what it is, how many times a call runs it and from where, its share,
    and the line that compiles it alone (None where no regional compile can target it)."""
    profile = obs.get("profile") or {}
    best = best_region(obs, profile) if profile.get("ops") else None
    if best is None:
        return None
    r, n = best
    out = {"region": region_name(r), "calls": r["calls"], "call_site": r["call_site"],
           "defined": r["defined"], "share": round(n / profile["ops"], 3),
           "compile_line": compile_line(r, mode)}
    if r.get("loop"):
        out["loop"] = f"{region_name(r['loop'])} x{r['loop']['calls']} at {r['loop']['call_site']}"
    if r.get("inner"):
        out["inner"] = f"{region_name(r['inner'])} x{r['inner']['calls']}"
    return out


def _where_of(obs: dict, function: str) -> str | None:
    for w in (obs.get("audit") or {}).get("writes", []):
        if w.get("function") == function and w.get("where"):
            return w["where"]
    return None
