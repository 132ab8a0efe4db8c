"""The report's "What forward writes" table: one row per write of the state audit (what,
how, on which calls, where, and what it becomes under torch.compile), and its title."""
from __future__ import annotations


def write_rows(writes):
    from ..classify.statewords import effect, held

    return [[held(w).replace("`", ""), w["kind"] + (" (tensor)" if w["tensor"] else ""), w["calls"],
             _changed(w), w["where"] or "(line not seen)", effect(w)]
            for w in writes]


def _changed(w: dict) -> str:
    """``every``, or where the calls that changed it skip some (a cache refreshed every
    other call), which: ``every (calls 1, 3)``."""
    on = w.get("changed_on") or []
    if w["changed"] != "every" or len(on) < 2 or on[-1] - on[0] + 1 == len(on):
        return w["changed"]
    shown = ", ".join(map(str, on[:3])) + (", ..." if len(on) > 3 else "")
    gaps = {b - a for a, b in zip(on, on[1:])}
    if len(gaps) == 1:
        k = gaps.pop()
        return f"every {k}{'nd' if k == 2 else 'rd' if k == 3 else 'th'} call ({shown})"
    return f"most calls ({shown})"


WRITE_HEAD = ["attribute", "write", "calls", "changed", "where", "under torch.compile"]


def _audit_title(variant, audit) -> str:
    stop = {"steady": "until two calls changed nothing", "cap": "up to the cap",
            "budget": "until the time budget", "error": "until it raised"}
    opaque = audit.get("opaque") or {}
    unread = "; read by identity only (their own code refused): " + ", ".join(
        f"{p} ({why})" for p, why in list(opaque.items())[:3]) if opaque else ""
    return (f"{variant}: {audit['calls']} eager call(s) ({stop.get(audit['stopped'], '')}); "
            f"warm-up needed: {audit['warmup']} call(s){unread}")
