"""What a state write becomes under torch.compile: the ``state_mutation`` findings.

The state audit (observe/audit.py) says what forward writes, where and on which calls; the compiled
cell says which of those writes the compiled forward still made, and what torch did about
them (recompiles). A finding is made only for a write the compiled forward made and whose
consequence is real (shared/REFERENCE.md section 2b, measured on an H200):

- a tensor computed in forward, stored in state and READ by a later call before that call
  writes it (the order the audit saw within each call, ``read_later``): under CUDA graphs it
  is a graph output in the graph's pool, overwritten by the next replay; a tensor every call
  writes before it reads it (a weight recomputed by a pre-hook) is no hazard;
- a Python value that changes on later calls too: a guard fails and dynamo recompiles,
  call after call until the recompile limit, then runs eager (torch 2.7 recompiles once for
  an integer attribute, then takes it as a dynamic input: the finding says what was measured);
- writes on the first call only (lazy initialisation): the first graph is traced through them
  and the function recompiles once; a warm-up before compiling removes both.

No finding for: in-place writes to parameters, buffers and tensor attributes (static inputs:
allowed under CUDA graphs, running statistics are normal), a tensor replaced on every call
that no later call reads, a write that puts back the value already there, the
initialisation of torch's own lazy modules (dynamo runs it before tracing).
"""
from __future__ import annotations

from ..vocab.findings import Finding
from ..vocab.messages import RECOMPILE_LIMIT_RE
from .recompiles import Recompile, attribute
from .statewords import (OVERWRITE_TEXT, _calls, _compiled_did, _how_stored, _instances,  # noqa: F401
                         _on, _store_span, _warmup_sentence, effect, held, recompiled,
                         stores_tensor)

DEFAULT_RECOMPILE_LIMIT = 8


def compiled_writes(obs: dict) -> dict:
    """path -> what the compiled forward wrote there, by the names the audit gives (a write a
    property or a class's own __setattr__ stored under another name is its public name's)."""
    aliases = (obs.get("audit") or {}).get("aliases") or {}
    out: dict = {}
    for path, w in (obs.get("compiled_writes") or {}).items():
        name = aliases.get(path, path)
        if name in out:
            out[name] = dict(out[name], calls=sorted(set(out[name]["calls"]) | set(w["calls"])))
        else:
            out[name] = w
    return out


def explain_recompiles(obs: dict) -> tuple[dict[str, list[Recompile]], list[Recompile]]:
    """write path -> the recompiles it caused; and those no write accounts for. A guard names
    its write. dynamo names only the FIRST guard that failed, so the recompile right after
    call 1 is also the consequence of every other first-call write that later calls read
    before rewriting (each holds a guard on the value call 1 traced, and each value changed)."""
    audit = obs.get("audit") or {}
    if not audit or audit.get("error"):
        from .recompiles import measured
        return {}, measured(obs)
    by_write, rest = attribute(obs)
    compiled = compiled_writes(obs)
    after_first = [r for rs in by_write.values() for r in rs if r.call in (1, -1)] + \
        [r for r in rest if r.call in (1, -1)]
    if not after_first:
        return by_write, rest
    first = after_first[0]
    for w in audit.get("writes") or []:
        if w["path"] in by_write or w["lazy"] or w["changed"] != "first" or \
                w["path"] not in compiled or w["kind"] == "inplace":
            continue
        if (w["tensor"] and w["read_later"]) or \
                (not w["tensor"] and w.get("reads") in ("earlier", "unseen")):
            by_write[w["path"]] = [first]
    claimed = any(first is x for rs in by_write.values() for x in rs)
    return by_write, [r for r in rest if r is not first or not claimed]


def _named_note(w: dict, recompiles: list[Recompile]) -> str:
    """Where dynamo named another write's guard: it names only the first that failed."""
    own = {w.get("attribute") or w["path"], w["path"]}
    if any(r.path and r.path.rsplit(".", 1)[-1] in {p.rsplit(".", 1)[-1] for p in own}
           for r in recompiles):
        return ""
    return "; dynamo names only the first guard that failed"


def _changed_without_recompile(obs: dict, writes, later: list[int]) -> list[int]:
    """Calls that saw a changed value after the last recompile and compiled nothing, short of
    the recompile limit: dynamo no longer guards on the value (torch <= 2.7 makes an integer
    attribute of a user module dynamic after its first change, in
    torch/_dynamo/utils.py:is_int_specialization_case; later torch specialises it and
    recompiles on each change)."""
    calls = obs.get("calls") or []
    if not later or min(later) < 0 or any(RECOMPILE_LIMIT_RE.search(line)
                                          for line in obs.get("logs") or []):
        return []
    seen = {i + 1 for _, at in writes for i in at}
    return [i for i in sorted(seen) if max(later) < i < len(calls)
            and not calls[i].get("compiles")]


def _growth(w: dict, obs: dict, recompiles: list[Recompile]) -> str:
    """A container forward adds to on every call: memory, and the recompile limit ahead."""
    calls = len(obs.get("calls") or [])
    text = (f"{held(w)} gains items on every call and is never emptied: it grows without "
            f"bound (memory grows with every call of the episode)")
    if recompiles:
        limit = obs.get("recompile_limit") or DEFAULT_RECOMPILE_LIMIT
        rate = len(recompiles) / max(1, calls - 1)
        ahead = f"; at this rate dynamo reaches its recompile limit ({limit}) by call " \
            f"{int(limit / max(rate, 1e-9)) + 1} and then runs forward eagerly" if rate else ""
        text += f", and the compiled forward {recompiled(recompiles)}: {len(recompiles)} " \
                f"recompile(s) in {calls} calls{ahead}"
    return text + (". Keep a bounded buffer (a tensor allocated in __init__ and updated in "
                   "place) or move the bookkeeping out of the compiled forward.")


def state_findings(obs: dict) -> list[Finding]:
    audit = obs.get("audit")
    if not audit or audit.get("error"):
        return []
    if not ((obs.get("counters") or {}).get("stats") or {}).get("unique_graphs") and \
            not obs.get("error"):
        return []  # dynamo made no graph: the writes ran eagerly, as without compile
    compiled = compiled_writes(obs)
    by_write, _ = explain_recompiles(obs)
    k = max(1, audit.get("warmup") or 0)
    out: list[Finding] = []
    groups: dict[tuple, list] = {}
    filled: dict[str, list] = {}  # function -> buffers it fills in place on the first call
    for w in audit["writes"]:
        mine = by_write.get(w["path"], [])
        if w["lazy"] or (w["path"] not in compiled and not mine):
            continue
        if w["changed"] == "never" and not mine:
            continue  # writes back the value already there, and no guard failed on it
        at = (compiled.get(w["path"]) or {}).get("calls") or []
        grows = w["kind"] == "append" and w["changed"] == "every"
        stored_compiled = (compiled.get(w["path"]) or {}).get("stored", at)
        if stores_tensor(w) and w["read_later"] and stored_compiled:
            fix = _warmup_sentence(k) if _store_span(w) != "every" else (
                "It changes on every call: keep it in a buffer allocated in __init__ and "
                "update it in place (copy_), or compile without CUDA graphs.")
            also = f" dynamo also {recompiled(mine, _named_note(w, mine))}." if mine else ""
            out.append(Finding(
                "state_mutation",
                f"{held(w)} is a tensor that forward {_how_stored(w)} and that later "
                f"calls read; the compiled forward {_compiled_did(at, stored_compiled)}.{also} Under "
                "CUDA graphs it is an output of the graph, in its memory pool, and the next "
                f"replay overwrites it: {OVERWRITE_TEXT}. "
                + (_growth(w, obs, []) if grows else fix),
                w["where"], w["path"], "cudagraph_overwrite", _instances([w])))
            continue
        if grows:  # tensors kept in it are outputs of earlier replays, which every
            # recompile's trace of the container reads again (measured on an H200)
            reread = w["tensor"] and bool(mine)
            out.append(Finding("state_mutation", _growth(w, obs, mine) + (
                " Under CUDA graphs its items are outputs of earlier replays, and each "
                "recompile's trace reads the container again: " + OVERWRITE_TEXT + "."
                if reread else ""), w["where"], w["path"],
                "cudagraph_overwrite" if reread else None, _instances([w])))
            continue
        if w["kind"] == "inplace" and w["calls"] == "first" and not mine:
            filled.setdefault(w["function"], []).append(w)
        if (w["kind"] == "inplace" or w["tensor"]) and not mine:
            continue  # static inputs written in place; a stored tensor no later call reads
        if w["tensor"] or w["kind"] == "inplace":  # a tensor whose shape, dtype or identity
            how = "writes in place" if w["kind"] == "inplace" else "stores in state"  # a guard holds
            out.append(Finding(
                "state_mutation",
                f"{held(w)} is a tensor forward {how} ({_on(w['changed'])}); what it holds "
                f"then fails a guard of the compiled graph: dynamo {recompiled(mine)}. Keep "
                "one shape and dtype from the start (a buffer allocated in __init__, written "
                "in place), or keep it out of forward.",
                w["where"], w["path"], None, _instances([w])))
            continue
        if not mine and w.get("reads") in ("own", "none"):
            continue  # every call writes it before it reads it, or never reads it: no guard
        effect = "first" if w["changed"] in ("first", "never") else "again"
        groups.setdefault((effect, w["function"]), []).append((w, at, mine))
    told = set()  # functions whose in-place fills a lazy-initialisation finding names
    for (effect, function), writes in groups.items():
        mine = list({id(r): r for _, _, rs in writes for r in rs}.values())
        if not mine:
            continue  # no recompile measured: nothing happens under compile
        paths = [w["path"] for w, _, _ in writes]
        who = f"{function}() writes" if function else "forward writes"
        listed = ", ".join(held(w) for w, _, _ in writes)
        if effect == "first":
            also = filled.get(function)
            if also:
                listed += " and fills " + ", ".join(held(w) for w in also) + " in place"
                told.add(function)
            detail = (f"{who} {listed} on the first call only (lazy initialisation), inside "
                      f"the compiled region: dynamo traced the first graph through it and "
                      f"{recompiled(mine, _named_note(writes[0][0], mine))}. "
                      f"{_warmup_sentence(k)}")
        else:
            spans = sorted({w["changed"] for w, _, _ in writes})
            later = [r.call for r in mine]
            quiet = _changed_without_recompile(obs, [(w, at) for w, at, _ in writes], later)
            if quiet:  # torch 2.7: an integer attribute becomes a dynamic input
                detail = (f"{who} {listed}, Python state that changes on later calls too "
                          f"({', '.join(spans)}): the change failed a guard and dynamo "
                          f"{recompiled(mine)}, then stopped "
                          f"guarding on it: {_calls(quiet)} saw it change again and compiled "
                          "nothing (after its first change dynamo made the integer a dynamic "
                          "input of the graph: automatic dynamic). "
                          "Keep such values out of forward, or make them tensors updated in "
                          "place.")
            else:
                detail = (f"{who} {listed}, Python state that changes on later calls too "
                          f"({', '.join(spans)}): each change fails a guard and dynamo "
                          f"{recompiled(mine)}, until its "
                          "recompile limit, then runs eager. Keep such values out of forward, "
                          "or make them tensors updated in place.")
        out.append(Finding("state_mutation", detail, writes[0][0]["where"], paths[0],
                           None, _instances([w for w, _, _ in writes])))
    for function, fills in filled.items():  # initialised in place, nothing Python to guard
        if function in told:
            continue
        who = f"{function}()" if function else "forward"
        out.append(Finding(
            "state_mutation",
            f"{who} fills {', '.join(held(w) for w in fills)} in place on the first call only "
            "(lazy initialisation), inside the compiled region: the compiled forward did it on "
            f"{_calls(compiled[fills[0]['path']]['calls'])}, so the first graph is traced "
            f"through the initialisation that later calls skip. {_warmup_sentence(k)}",
            fills[0]["where"], fills[0]["path"], None, _instances(fills)))
    return out


def unexplained_recompiles(obs: dict) -> list[Recompile]:
    """The recompiles no state write accounts for (each becomes a ``recompile`` finding)."""
    return explain_recompiles(obs)[1]
