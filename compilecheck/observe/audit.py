"""The state audit: call a module eagerly, the way the policy loop does, and record every write
to the state reachable from it, each with the line that made it and the calls it happened on.

Writes are seen when they happen: the classes of the module tree (and of the plain objects
hanging off it) get a recording ``__setattr__`` for the audit, plain dicts and lists in its
state become recording ones, and a dispatch mode sees every in-place operation on a tensor
the tree owns and every read of a tensor a forward stored. What changed is decided by
comparing snapshots (observe/statewalk.py, observe/statediff.py), so a write that puts back the same value changes nothing.
The audit runs on its own copy of the module; the copy is thrown away.
"""
from __future__ import annotations

import dataclasses
import time

import torch

from .calltree import count_calls
from .holders import distinct_holders
from .recording import Recorder, Watch
from .statediff import Change, diff
from .safeaccess import is_a, reason
from .statewalk import walk
from .writes import fold_growing, group_instances, warmup_calls, writes_of

MIN_CALLS = 3  # first, second, and one more: enough to tell "first" from "every"
MAX_CALLS = 40  # a calibration window longer than this reads as "every"
STEADY_CALLS = 2  # this many calls in a row that change nothing end the audit
BUDGET_S = 5.0  # after the first call, on a large layer
REPEATS_CALL = 1  # the call whose function calls are counted: after the first-call work


@dataclasses.dataclass
class Audit:
    calls: int
    warmup: int  # eager calls after which forward writes nothing that a warm-up removes
    writes: list  # Write
    stopped: str  # steady | cap | budget | error
    seconds: float
    error: str | None = None
    one_time: dict = dataclasses.field(default_factory=dict)  # function -> ops on call 1
    repeats: list = dataclasses.field(default_factory=list)  # user functions run N times a call
    holders: list = dataclasses.field(default_factory=list)  # one module of each kind (holders.py)
    opaque: dict = dataclasses.field(default_factory=dict)  # path -> why the walk could not read it
    aliases: dict = dataclasses.field(default_factory=dict)  # a property's storage -> its name
    arguments: list = dataclasses.field(default_factory=list)  # forward's positional parameters

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["writes"] = [w.to_json() for w in self.writes]
        return d


def _lazy_prefixes(root) -> list[str]:
    from torch.nn.modules.lazy import LazyModuleMixin

    return [p for p, m in root.named_modules() if isinstance(m, LazyModuleMixin)]


def run_audit(module: torch.nn.Module, inputs, sync=lambda: None, max_calls: int = MAX_CALLS,
              budget_s: float = BUDGET_S) -> Audit:
    """Call ``module`` (a copy the audit may keep) with ``inputs(i)`` for call i, under no_grad
    like a policy loop, until its writes settle, and say what it wrote."""
    t0 = time.perf_counter()
    lazy = _lazy_prefixes(module)
    rec = Recorder(module, run_audit.__code__)  # the stack above this frame is not forward's
    per_call: list[list[Change]] = []
    repeats: list = []
    stopped, error = "cap", None
    given = None  # the ids of the objects among the last call's arguments
    opaque: dict = {}
    try:
        for call in range(max_calls):
            rec.begin(call)
            args = inputs(call)
            rec.given(args)
            ids = [id(a) for a in args if not is_a(a, torch.Tensor)]
            if ids != given:  # other objects passed: their state is walked from here
                snap = walk(module, data=True, args=args)
                opaque.update(snap.opaque)
                rec.refresh(snap)
                given = ids
            with torch.no_grad(), Watch(rec):
                rec.active = True
                try:
                    if call == REPEATS_CALL:  # a steady call: which functions run many times
                        repeats = count_calls(lambda: module(*args), root=module)
                    else:
                        module(*args)
                    sync()
                finally:
                    rec.active = False
            after = walk(module, data=True, args=args)
            opaque.update(after.opaque)
            changes = diff(snap, after)
            rec.note_stored(changes, snap, after)
            per_call.append(changes)
            rec.refresh(after)
            snap = after
            n = call + 1
            quiet = n >= MIN_CALLS and all(not c for c in per_call[-STEADY_CALLS:])
            if quiet:
                stopped = "steady"
                break
            if n >= MIN_CALLS and time.perf_counter() - t0 > budget_s:
                stopped = "budget"
                break
    except Exception as e:  # the module fails in eager: the eager reference reports it
        stopped, error = "error", reason(type(e).__name__, e)[:500]
    finally:
        rec.unpatch()
    writes = group_instances(fold_growing(writes_of(rec, per_call, lazy), rec, len(per_call)),
                             module)
    return Audit(len(per_call), warmup_calls(writes), writes, stopped,
                 round(time.perf_counter() - t0, 4), error, rec.one_time(len(per_call)),
                 repeats, distinct_holders(writes, module), opaque, dict(rec.aliases),
                 forward_arguments(module))


def forward_arguments(module) -> list[str]:
    """The names of forward's positional parameters (dynamo names an argument's guard by
    them: ``L['cache']`` is ``args[1]`` of a forward(x, cache))."""
    import inspect

    try:
        params = inspect.signature(module.forward).parameters.values()
    except Exception:  # a forward inspect cannot read (a C function, a hostile wrapper)
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


