"""Which way to cut the cold compile: the measured rows weighed as an episode pays them, the
seconds of the first call once against the milliseconds of every call, ``calls`` times. Only
rows whose numerics equal the as-deployed compile's compete; a row whose steady spread overlaps
as-deployed's counts as the same speed; on equal cost the smaller change to the user's code
wins."""
from __future__ import annotations

from ..vocab.coldstart import BY_NAME

NOT_MEASURED = ("Cold start: not measured (it takes several whole compiles in fresh "
                "processes); measure it with --cold-start [--calls N].")
ABS_TOL = 1e-5  # below this an error difference is rounding, whatever the row
TIE = 0.02  # episode costs within 2% are the same cost

VERBS = {
    "as-deployed": "keep the whole-module compile as deployed",
    "warm-cache": "keep the whole-module compile and keep its cache folder between runs",
    "cache-artifacts": "keep the whole-module compile and ship cache artifacts",
    "regional": "compile {region} instead of the whole module",
    "nested-region": "keep the whole-module compile and mark {cls}.{fn} as a nested "
                     "compile region",
    "aot": "compile ahead of time in a build step and load it at start-up",
}


def _overlap(a, b) -> bool:
    return bool(a and b) and a[0] <= b[1] and b[0] <= a[1]


SAME_SPEED = 0.05  # steady times within 5% of each other: the same speed across processes
FAR_WORSE = 1.5  # a row this much slower per call than as-deployed says why


def same_speed(row: dict, base: dict) -> bool:
    """Steady speeds that measurement cannot tell apart: spreads that overlap, a difference
    inside either spread's width, or within SAME_SPEED of as-deployed's (each row is its own
    process: a few percent between processes is noise, never a break-even call count)."""
    a, b = row.get("steady_ms"), base.get("steady_ms")
    if a is None or b is None:
        return False
    if _overlap(row.get("spread"), base.get("spread")):
        return True
    widths = [s[1] - s[0] for s in (row.get("spread"), base.get("spread")) if s]
    return abs(a - b) <= max(widths, default=0.0) or abs(a - b) <= SAME_SPEED * b


def _region_words(row: dict) -> dict:
    """{cls} {fn} {target} {region} of the row's region, for the templates."""
    fn = row.get("region_function") or "forward"
    cls = row.get("region_owner") or row.get("region_class") or "Block"
    path = (row.get("region_paths") or [""])[0]
    return {"cls": cls, "fn": fn, "target": "model" + (f".{path}" if path else ""),
            "region": f"{cls}.{fn}()" if fn != "forward" else f"each {cls}"}


def _fill(row: dict, mode: str) -> dict:
    entry = BY_NAME.get(row["name"])
    words = _region_words(row)
    template = (entry.do_this_method if words["fn"] != "forward" and entry.do_this_method
                else entry.do_this) if entry else ""
    row["do_this"] = template.format(mode=mode, **words)
    if row["name"] == "warm-cache" and row.get("default_cache_dir"):
        where = row["default_cache_dir"]
        row["note"] = (f"the default cache is {where}, under a temporary folder: a container "
                       "or robot that wipes /tmp pays the cold compile every boot"
                       if row.get("default_in_temp") else f"the default cache is {where}")
    return row


def _same_numerics(row: dict, base: dict) -> bool:
    entry = BY_NAME.get(row["name"])
    err, base_err = row.get("max_abs_err"), base.get("max_abs_err")
    return (entry is not None and entry.keeps_numerics and err is not None
            and base_err is not None and err <= max(2 * base_err, ABS_TOL))


def episode_s(row: dict, base: dict, calls: int) -> float:
    ms = base["steady_ms"] if same_speed(row, base) else row["steady_ms"]
    return row["compile_s"] + calls * ms / 1000.0


def decide(rows: list[dict], calls: int, mode: str) -> tuple[list[dict], dict]:
    """The rows with their ``do_this``, and the recommendation ``{name, summary, calls}``."""
    rows = [_fill(dict(r), mode) for r in rows]
    base = next((r for r in rows if r["name"] == "as-deployed"), None)
    if base is None or not base.get("measured"):
        why = (base or {}).get("error") or "it did not run"
        return rows, {"name": None, "calls": calls, "summary": "the as-deployed "
                      f"compile could not be measured ({why}), so nothing is compared."}
    fair = [r for r in rows if r.get("measured") and _same_numerics(r, base)]
    for r in rows:
        if r.get("measured"):
            r["episode_s"] = round(episode_s(r, base, calls), 2)
            r["same_numerics"] = r in fair
            r["same_speed"] = same_speed(r, base)
            if not r["same_speed"] and r["steady_ms"] > FAR_WORSE * base["steady_ms"]:
                r["slower_why"] = _slower_why(r)
    cheapest = min(r["episode_s"] for r in fair)
    near = [r for r in fair if r["episode_s"] <= cheapest * (1 + TIE)]
    best = min(near, key=lambda r: (BY_NAME[r["name"]].user_change, r["episode_s"]))
    return rows, {"name": best["name"], "calls": calls, "summary": summary(best, base, calls)}


def _slower_why(row: dict) -> str:
    """Why a row's calls are far slower than the whole compile's: what ran eagerly."""
    if row["name"] == "regional":
        share = row.get("region_share")
        part = f" ({share:.0%} of the whole compile's operations)" if share else ""
        return (f"only {row.get('region_class', 'the region')}{part} was compiled; everything "
                "outside it ran eagerly, call by call")
    if row["name"] == "nested-region":
        return "the marked region runs as a call of its own in the graph (fewer fusions)"
    return "slower calls than the whole-module compile"


def summary(best: dict, base: dict, calls: int) -> str:
    verb = VERBS[best["name"]].format(**_region_words(best))
    first = (f"first call {best['compile_s']:.1f} s instead of {base['compile_s']:.1f} s")
    if best["name"] == "as-deployed":
        text = (f"{verb}: no measured way is cheaper over an episode of {calls} "
                f"calls (first call {base['compile_s']:.1f} s, {base['steady_ms']:.3g} ms per "
                "call).")
        return text + " Do this: nothing to change."
    saved = base["episode_s"] - best["episode_s"]
    if best.get("same_speed"):
        text = f"{verb}: {first}, same speed ({base['steady_ms']:.3g} ms per call)."
    else:
        extra_ms = best["steady_ms"] - base["steady_ms"]
        text = (f"{verb}: {first}, {best['steady_ms']:.3g} ms per call instead "
                f"of {base['steady_ms']:.3g} ms: {saved:.1f} s saved over an episode of "
                f"{calls} calls")
        if extra_ms > 0:
            even = (base["compile_s"] - best["compile_s"]) / (extra_ms / 1000.0)
            text += f" (it stops paying after {even:.0f} calls)"
        text += "."
        if best.get("slower_why"):
            text += f" Slower per call because {best['slower_why']}."
    if best.get("note"):
        text += f" Note: {best['note']}."
    return text + " Do this: " + best["do_this"]
