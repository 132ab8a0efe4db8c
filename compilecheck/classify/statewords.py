"""The words of the state findings (classify/consequences.py) and of the report's "What
forward writes" table: what a write is about, on which calls, what the compiled forward did
there, and in a few words what it becomes under torch.compile."""
from __future__ import annotations

from .recompiles import Recompile

STORES = ("create", "rebind", "append")  # a tensor put into state (not written in place)
OVERWRITE_TEXT = ("'accessing tensor output of CUDAGraphs that has been overwritten by a "
                  "subsequent run'")


def _calls(calls: list[int]) -> str:
    names = [str(c + 1) for c in sorted(set(calls))]
    return ("call " if len(names) == 1 else "calls ") + ", ".join(names)


def recompiled(recompiles: list[Recompile], note: str = "") -> str:
    """``recompiled on calls 2, 3 (guard `len(self.seen) == 2`)``: when, and the guard."""
    known = [r.call for r in recompiles if r.call >= 0]
    when = f"on {_calls(known)}" if known else f"{len(recompiles)} time(s)"
    guards = list(dict.fromkeys(r.guard for r in recompiles))
    shown = f"guard `{guards[0]}`" + (f" and {len(guards) - 1} more" if len(guards) > 1 else "")
    return f"recompiled {when} ({shown}{note})"


def _on(changed: str) -> str:
    return {"every": "every call", "first": "first call"}.get(changed, f"calls {changed}")


def _how_stored(w: dict) -> str:
    """How eager forward puts the tensor there: stored anew, or created once and then written
    in place (a buffer made on call 1, then ``copy_``)."""
    if w["kind"] == "inplace" and w.get("first_kind") in STORES:
        changes = {"every": "every call", "first": "the first call only",
                   "never": "no call"}.get(w["changed"], f"calls 1 to {w['changed'][6:]}")
        return (f"creates in state ({_on(_store_span(w))}) and then writes in place "
                f"(its values change on {changes})")
    return f"computes and stores in state ({_on(w['changed'])})"


def _compiled_did(at: list[int], stored: list[int]) -> str:
    """What the compiled calls did there: the calls that stored a graph's output, and those
    that wrote that tensor in place afterwards."""
    rest = sorted(set(at) - set(stored))
    if not stored or not rest:
        return f"stored it on {_calls(at)}"
    return f"stored it on {_calls(stored)} and wrote it in place on {_calls(rest)}"


def _warmup_sentence(k: int) -> str:
    return (f"A warm-up of {k} eager call{'s' if k != 1 else ''} on the target device before "
            "torch.compile makes it outside the graph (the warm-up rung).")


def stores_tensor(w: dict) -> bool:
    """A tensor put into state (created or rebound), on some call: a graph's output if that
    call ran compiled (created on call 1 and written in place after counts)."""
    return w["tensor"] and (w["kind"] in STORES or w.get("first_kind") in STORES)


def _store_span(w: dict) -> str:
    """The calls that put a new tensor there (reports before the field: its changes)."""
    return w.get("stored") if w.get("stored") not in (None, "never") else w["changed"]


def held(w: dict, listed: int = 2) -> str:
    """What a write is about, in words: its path, or for a write many module instances make
    at one line, the attribute, how many of which class, and the first few paths."""
    n = len(w.get("instances") or ())
    if n <= 1:
        return f"`{w['path']}`"
    shown = ", ".join(p or "(root)" for p in w["instances"][:listed])
    more = ", ..." if n > listed else ""
    return f"`{w['attribute']}` of {n} {w['owner']} modules ({shown}{more})"


def _instances(writes) -> list | None:
    paths = list(dict.fromkeys(p for w in writes for p in (w.get("instances") or ())))
    return paths if len(paths) > 1 else None


def effect(w: dict) -> str:
    """In a few words, what a write from the audit does under torch.compile."""
    if w["lazy"]:
        return "none: a torch lazy module, initialised before tracing"
    if w["changed"] == "never":
        return "none: writes back the value already there"
    grows = "grows on every call, no warm-up ends it" if w["kind"] == "append" and \
        w["changed"] == "every" else ""
    if stores_tensor(w):
        if w["read_later"]:
            return "CUDA-graph overwrite (a later call reads the tensor an earlier one " \
                "stored)" + ("; warm-up removes it" if _store_span(w) != "every" else "") + \
                (f"; {grows}" if grows else "")
        if w.get("reads") == "own":
            return "none: every call writes it before it reads it"
        return "none: a stored tensor no later call reads" + (f"; {grows}" if grows else "")
    if grows:
        return grows + "; a recompile per change where forward reads it"
    if w["kind"] == "inplace":
        return "none: written in place (allowed under CUDA graphs)" + (
            "; traced into the first graph, warm-up removes it" if w["calls"] == "first"
            else "")
    if w["changed"] == "first":
        return "one recompile after call 1; warm-up removes it"
    return "a recompile per change, up to the recompile limit"
