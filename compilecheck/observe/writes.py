"""What the audit's recording means: one write per path, with the calls that wrote it, the calls
on which its value changed and those that stored a new object there; the order of reads and
writes within a call; a container grown call after call folded into one write; the writes many
module instances make at one line grouped; and the eager calls a warm-up needs
(observe/audit.py runs the calls, observe/recording.py records them).
"""
from __future__ import annotations

import dataclasses

import torch

from .recording import Recorder
from .sources import short_path

WARMUP_CAP = 32


@dataclasses.dataclass
class Write:
    """One attribute forward writes (the report's ``state_writes`` entry)."""

    path: str
    kind: str  # create | rebind | inplace | value | delete | append: its last change's kind
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
    first_kind: str = ""  # the first change's kind where it differs (created, then in place)
    stored: str = "never"  # the calls that put another object there (create | rebind)
    changed_on: list = dataclasses.field(default_factory=list)  # 1-based: the calls that
    # changed it (``changed`` spans them: a cache refreshed every other call is "every")

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


def writes_of(rec: Recorder, per_call, lazy_prefixes) -> list[Write]:
    """One write per path, from the recorder's events and each call's changes."""
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
    kinds: dict[str, list] = {}  # path -> the kind of each change, in call order
    stores: dict[str, set] = {}  # path -> the calls that put another object there
    tensors: dict[str, bool] = {}
    for call, changes in enumerate(per_call):
        for c in changes:
            path = named.get(c.path, c.path)
            if path in rec.storage and c.kind == "value":
                continue  # a container a __setattr__ stores names in: its items are the writes
            changed.setdefault(path, set()).add(call)
            kinds.setdefault(path, []).append(c.kind)
            if c.kind in ("create", "rebind"):
                stores.setdefault(path, set()).add(call)
            tensors[path] = tensors.get(path, False) or c.tensor
    read_later = {named.get(p, p) for p in rec.read_later}
    reads: dict[str, dict] = {}
    for p, by_call in rec.reads.items():
        for call, order in by_call.items():
            merged = reads.setdefault(named.get(p, p), {})
            merged[call] = "earlier" if "earlier" in (order, merged.get(call)) else order
    out = []
    for path in dict.fromkeys([*changed, *written]):
        calls = written.get(path, set()) | changed.get(path, set())
        w = where.get(path) or rec.last_use.get(path)  # a kernel that wrote it unannounced
        tensor = tensors.get(path, False)
        seen = kinds.get(path) or ["value"]
        out.append(Write(
            path=path, kind=seen[-1], first_kind=seen[0] if seen[0] != seen[-1] else "",
            stored=call_span(stores.get(path, set()), n), calls=call_span(calls, n),
            where=f"{short_path(w[0])}:{w[1]}" if w else None, tensor=tensor,
            changed=call_span(changed.get(path, set()), n), function=w[2] if w else None,
            changed_on=sorted(c + 1 for c in changed.get(path, set())),
            read_later=path in read_later,
            reads=_order(reads.get(path)) if tensor or rec.reads_seen(path) else "unseen",
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
                changed=call_span(calls, n), changed_on=sorted(c + 1 for c in calls),
                where=where,
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
        span = warm_span(w)
        if span == "first":
            k = max(k, 1)
        elif span.startswith("until "):
            k = max(k, int(span.split()[1]))
    return min(k, WARMUP_CAP)


def warm_span(w: Write) -> str:
    """The calls a warm-up before compiling must cover for this write ("never" where it changes
    nothing the compiled function meets): not torch's lazy modules (initialised before
    tracing), nor a tensor no later call reads, nor a Python value every call writes before it
    reads it or never reads (dynamo replays the write after the graph and keeps no guard). A
    tensor: the calls that store a new one (created on call 1, then written in place: the
    creation); a buffer filled in place: the calls that write it; a Python value read before
    it is rewritten: the calls that change it."""
    if w.lazy:
        return "never"
    if w.tensor and "append" != w.kind and (w.stored != "never" or w.kind in ("create",
                                                                           "rebind")):
        return w.stored if w.read_later or w.reads == "earlier" else "never"
    if w.kind == "inplace":
        return w.calls
    if w.tensor or w.reads not in ("earlier", "unseen"):
        return "never"
    return w.changed
