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
from .sources import short_path
from .statediff import Change, diff
from .safeaccess import is_a, reason
from .statewalk import walk

MIN_CALLS = 3  # first, second, and one more: enough to tell "first" from "every"
MAX_CALLS = 40  # a calibration window longer than this reads as "every"
STEADY_CALLS = 2  # this many calls in a row that change nothing end the audit
BUDGET_S = 5.0  # after the first call, on a large layer
WARMUP_CAP = 32
REPEATS_CALL = 1  # the call whose function calls are counted: after the first-call work


@dataclasses.dataclass
class Write:
    """One attribute forward writes (the report's ``state_writes`` entry)."""

    path: str
    kind: str  # create | rebind | inplace | value | delete
    calls: str  # first | every | until N: the calls that wrote it
    where: str | None  # file:line of the write itself, as it happened
    tensor: bool
    changed: str  # first | every | until N | never: the calls on which its value changed
    function: str | None = None  # the function that wrote it
    read_later: bool = False  # a call reads the tensor an earlier call stored here
    reads: str = "none"  # earlier (a call reads the value an earlier call stored) | own
    # (every call writes it before it reads it) | none: the order seen within each call
    lazy: bool = False  # written by a torch lazy module's own initialisation
    owner: str = ""  # the class of the module that holds it
    attribute: str = ""  # its path inside that module
    instances: list = dataclasses.field(default_factory=list)  # the holders' dotted paths

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def call_span(calls: set, n: int) -> str:
    """first | every | until N for the 0-based call indices ``calls`` out of ``n`` calls. A
    write made on every k-th call that still came within its own period of the last call
    (a cache refreshed every other step) is an every-call write too."""
    if not calls:
        return "never"
    seq = sorted(calls)
    last = seq[-1]
    gap = max((b - a for a, b in zip(seq, seq[1:])), default=1)
    if n > 1 and len(seq) > 1 and last >= n - gap or last == n - 1 and n > 1:
        return "every"
    return "first" if last == 0 else f"until {last + 1}"


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
                        repeats = count_calls(lambda: module(*args))
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
    writes = group_instances(fold_growing(_writes(rec, per_call, lazy), rec, len(per_call)),
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


def _writes(rec: Recorder, per_call, lazy_prefixes) -> list[Write]:
    n = len(per_call)
    named = rec.aliases  # what a property stored under is the property's write
    written: dict[str, set] = {}
    where: dict[str, tuple] = {}
    for e in rec.events:
        path = named.get(e.path, e.path)
        written.setdefault(path, set()).add(e.call)
        if e.where and path not in where:
            where[path] = e.where
    changed: dict[str, set] = {}
    kinds: dict[str, str] = {}
    tensors: dict[str, bool] = {}
    for call, changes in enumerate(per_call):
        for c in changes:
            path = named.get(c.path, c.path)
            changed.setdefault(path, set()).add(call)
            kinds.setdefault(path, c.kind)
            tensors[path] = tensors.get(path, False) or c.tensor
    out = []
    for path in dict.fromkeys([*changed, *written]):
        calls = written.get(path, set()) | changed.get(path, set())
        w = where.get(path) or rec.last_use.get(path)  # a kernel that wrote it unannounced
        tensor = tensors.get(path, False)
        out.append(Write(
            path=path, kind=kinds.get(path, "value"), calls=call_span(calls, n),
            where=f"{short_path(w[0])}:{w[1]}" if w else None, tensor=tensor,
            changed=call_span(changed.get(path, set()), n), function=w[2] if w else None,
            read_later=path in rec.read_later,
            reads=_order(rec.reads.get(path)) if tensor or rec.reads_seen(path) else "unseen",
            lazy=any(p == "" or path.startswith(p + ".") for p in lazy_prefixes)))
    return out


def _order(reads: dict | None) -> str:
    if not reads:
        return "none"
    return "earlier" if "earlier" in reads.values() else "own"


def fold_growing(writes: list[Write], rec: Recorder, n: int) -> list[Write]:
    """A container that gains items call after call (a list appended to, a dict given new
    keys) is one write of the container, kind ``append``, on the calls it grew: not a
    first-call write per index that a warm-up would end."""
    items: dict[str, list[Write]] = {}
    for w in writes:
        if "[" in w.path and w.kind == "create":
            items.setdefault(w.path[:w.path.index("[")], []).append(w)
    grown = {c: ws for c, ws in items.items()
             if len({w.changed for w in ws if "[" not in w.path[len(c) + 1:]}) > 1}
    if not grown:
        return writes
    out = []
    for w in writes:
        c = next((c for c in grown if w.path == c or w.path.startswith(c + "[")), None)
        if c is None:
            out.append(w)
        elif w.path == c or not any(o.path == c for o in writes) and w is grown[c][0]:
            ws = [o for o in writes if o.path == c or o.path.startswith(c + "[")]
            calls = {e.call for e in rec.events if e.path == c}
            for o in grown[c]:
                calls |= _span_calls(o.changed, n)
            where = next((o.where for o in ws if o.path == c and o.where), None) or \
                next((o.where for o in ws if o.where), None)
            out.append(dataclasses.replace(
                w, path=c, kind="append", calls=call_span(calls, n),
                changed=call_span(calls, n), where=where,
                tensor=any(o.tensor for o in grown[c]),
                read_later=any(o.read_later for o in ws),
                reads="earlier" if any(o.reads == "earlier" for o in ws) else w.reads))
    return out


def _span_calls(span: str, n: int) -> set:
    """The calls a span covers, for a write seen once per index: its index is its call."""
    if span == "first":
        return {0}
    if span.startswith("until "):
        return {int(span.split()[1]) - 1}
    return {n - 1} if span == "every" else set()


def _owner(path: str, modules: dict) -> str:
    """The dotted path of the innermost module whose state ``path`` is ("" for the root)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in modules:
            return ".".join(parts[:i])
    return ""


def group_instances(writes: list[Write], root: torch.nn.Module) -> list[Write]:
    """One write per (holder's class, path inside it, what and where): a policy's 28 layers
    writing ``_act_scale`` at the same line on the same calls are one write of 28 instances,
    reported under the first one's path."""
    modules = dict(root.named_modules())
    groups: dict[tuple, Write] = {}
    for w in writes:
        owner = _owner(w.path, modules)
        attribute = w.path[len(owner) + 1:] if owner else w.path
        cls = type(modules[owner]).__qualname__
        key = (cls, attribute, w.kind, w.calls, w.where, w.tensor, w.changed, w.read_later,
               w.reads, w.lazy)
        if key in groups:
            groups[key].instances.append(owner)
            continue
        groups[key] = dataclasses.replace(w, owner=cls, attribute=attribute, instances=[owner])
    return list(groups.values())


def warmup_calls(writes: list[Write]) -> int:
    """Eager calls before compiling after which forward no longer changes state that stops
    changing (first-call initialisation, a calibration window) and that the compiled function
    would meet: running state is left, and so is a write no later call depends on."""
    k = 0
    for w in writes:
        if w.changed == "first":
            k = max(k, 1) if warms_up(w) else k
        elif w.changed.startswith("until ") and warms_up(w):
            k = max(k, int(w.changed.split()[1]))
    return min(k, WARMUP_CAP)


def warms_up(w: Write) -> bool:
    """Does a warm-up before compiling change what the compiled function meets for this
    write? Not for torch's lazy modules (initialised before tracing), nor for a tensor no
    later call reads, nor for a Python value every call writes before it reads it or never
    reads (dynamo replays the write after the graph and keeps no guard on it): the compiled
    function sees the same thing with or without the warm-up."""
    if w.lazy:
        return False
    if w.tensor and w.kind in ("create", "rebind", "append"):
        return w.read_later or w.reads == "earlier"
    if w.kind == "inplace":
        return True  # filled on the first call: traced into the first graph
    return w.reads in ("earlier", "unseen")
