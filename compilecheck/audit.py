"""The state audit: call a module eagerly, the way the policy loop does, and record every write
to the state reachable from it, each with the line that made it and the calls it happened on.

Writes are seen when they happen: the classes of the module tree (and of the plain objects
hanging off it) get a recording ``__setattr__`` for the audit, plain dicts and lists in its
state become recording ones, and a dispatch mode sees every in-place operation on a tensor
the tree owns and every read of a tensor a forward stored. What changed is decided by
comparing snapshots (statewalk.py), so a write that puts back the same value changes nothing.
The audit runs on its own copy of the module; the copy is thrown away.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .sources import is_user_file, short_path
from .statewalk import (Change, diff, fingerprint, item_path, module_storages, storage_ptr,
                        walk)

MIN_CALLS = 3  # first, second, and one more: enough to tell "first" from "every"
MAX_CALLS = 40  # a calibration window longer than this reads as "every"
STEADY_CALLS = 2  # this many calls in a row that change nothing end the audit
BUDGET_S = 5.0  # after the first call, on a large layer
WARMUP_CAP = 32


@dataclasses.dataclass
class Event:
    call: int
    path: str
    where: tuple | None  # (file, line, function)


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
    read_later: bool = False  # a stored tensor that a later call reads
    lazy: bool = False  # written by a torch lazy module's own initialisation

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def call_span(calls: set, n: int) -> str:
    """first | every | until N for the 0-based call indices ``calls`` out of ``n`` calls."""
    if not calls:
        return "never"
    last = max(calls)
    if last == n - 1 and n > 1:
        return "every"
    return "first" if last == 0 else f"until {last + 1}"


class _RecordingDict(dict):
    def _note(self):
        self._rec.on_item(self._path)

    def __setitem__(self, k, v):
        self._note()
        if isinstance(v, torch.Tensor):
            self._rec.on_item(item_path(self._path, k))
        super().__setitem__(k, v)

    def __delitem__(self, k):
        self._note()
        super().__delitem__(k)

    def update(self, *a, **kw):
        self._note()
        super().update(*a, **kw)

    def setdefault(self, k, v=None):
        if k not in self:
            self._note()
        return super().setdefault(k, v)

    def pop(self, *a):
        self._note()
        return super().pop(*a)

    def clear(self):
        self._note()
        super().clear()


class _RecordingList(list):
    def _note(self):
        self._rec.on_item(self._path)


def _list_method(name):
    def method(self, *a, **kw):
        self._note()
        return getattr(list, name)(self, *a, **kw)
    method.__name__ = name
    return method


for _m in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
           "remove", "clear", "sort", "reverse"):
    setattr(_RecordingList, _m, _list_method(_m))


def _recording(value, rec, path):
    cls = {dict: _RecordingDict, list: _RecordingList}.get(type(value))
    if cls is None:
        return value
    out = cls(value)
    out._rec, out._path = rec, path
    return out


_MISSING = object()


class _Recorder:
    def __init__(self, root: torch.nn.Module):
        self.root = root
        self.active = False
        self.call = 0
        self.depth = 0
        self.events: list[Event] = []
        self.owner_paths: dict[int, str] = {}
        self.storages: dict[int, str] = {}
        self.stored: dict[int, tuple[str, int]] = {}  # storage -> (path, call it was stored)
        self.read_later: set[str] = set()
        self.work: dict[int, dict[str, int]] = {}  # call -> function -> operations
        self._user_files: dict[str, bool] = {}
        self._patched: dict[type, object] = {}

    # -- what is watched
    def refresh(self, snapshot):
        """Before a call: owners by path, containers made recording, classes patched."""
        self.owner_paths = {id(m): p for p, m in self.root.named_modules(remove_duplicate=True)}
        for path, e in snapshot.items():
            if isinstance(e.owner, (dict, list)):
                continue  # a tensor inside a container: the container records its writes
            if id(e.owner) not in self.owner_paths:
                self.owner_paths[id(e.owner)] = path.rsplit(".", 1)[0] if "." in path else ""
            if type(e.value) in (dict, list) and not isinstance(e.owner, torch.Tensor):
                wrapped = _recording(e.value, self, path)
                _assign(e.owner, e.name, wrapped)
                e.value, e.print = wrapped, fingerprint(wrapped)
            self._patch(type(e.owner))
        for m in self.root.modules():
            self._patch(type(m))
        self.storages = module_storages(snapshot)

    def _patch(self, cls):
        if cls in self._patched or cls in (torch.Tensor, object) or cls.__module__ == "builtins":
            return
        own = cls.__dict__.get("__setattr__", _MISSING)
        rec = self

        def __setattr__(obj, name, value, _cls=cls, _own=own):
            if rec.depth == 0 and rec.active and id(obj) in rec.owner_paths:
                value = rec.on_set(obj, name, value)
            rec.depth += 1
            try:
                if _own is _MISSING:
                    super(_cls, obj).__setattr__(name, value)
                else:
                    _own(obj, name, value)
            finally:
                rec.depth -= 1

        try:
            cls.__setattr__ = __setattr__
        except (TypeError, AttributeError):  # a class defined in C
            return
        self._patched[cls] = own

    def unpatch(self):
        for cls, own in self._patched.items():
            try:
                if own is _MISSING:
                    del cls.__setattr__
                else:
                    cls.__setattr__ = own
            except (TypeError, AttributeError):
                pass
        self._patched.clear()

    # -- what is recorded
    @staticmethod
    def _where(frame=None):
        """The user's line that made the write: the innermost user frame between it and the
        audit's own call of the module (a write torch makes by itself has none)."""
        frame = frame or sys._getframe(2)
        while frame is not None and frame.f_code is not _AUDIT_CODE:
            if is_user_file(frame.f_code.co_filename):
                return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
            frame = frame.f_back
        return None

    def on_set(self, obj, name, value):
        if name.startswith("__"):
            return value
        prefix = self.owner_paths[id(obj)]
        path = f"{prefix}.{name}" if prefix else name
        self.events.append(Event(self.call, path, self._where()))
        return _recording(value, self, path)

    def on_item(self, path):
        if self.active:
            self.events.append(Event(self.call, path, self._where()))

    def on_op(self, func, args, kwargs):
        self._count_work(sys._getframe(2))
        schema = func._schema
        for i, a in enumerate(schema.arguments):
            if a.alias_info is None or not a.alias_info.is_write:
                continue
            v = args[i] if i < len(args) else kwargs.get(a.name)
            path = self.storages.get(storage_ptr(v)) if isinstance(v, torch.Tensor) else None
            if path:
                self.events.append(Event(self.call, path, self._where(sys._getframe(2))))
        if self.stored:
            for v in (*args, *kwargs.values()):
                for t in (v if isinstance(v, (list, tuple)) else (v,)):
                    hit = self.stored.get(storage_ptr(t)) if isinstance(t, torch.Tensor) \
                        else None
                    if hit and hit[1] < self.call:
                        self.read_later.add(hit[0])

    def _count_work(self, frame):
        """One more operation for every user function on the stack (the work each does)."""
        work = self.work.setdefault(self.call, {})
        seen = set()
        while frame is not None and frame.f_code is not _AUDIT_CODE:
            code = frame.f_code
            user = self._user_files.get(code.co_filename)
            if user is None:
                user = self._user_files[code.co_filename] = is_user_file(code.co_filename)
            if user and code.co_name not in seen and not code.co_name.startswith("<"):
                seen.add(code.co_name)
                work[code.co_name] = work.get(code.co_name, 0) + 1
            frame = frame.f_back

    def one_time(self, calls: int) -> dict[str, int]:
        """Functions that do work (torch operations) on the first call and none on the last:
        one-time work inside forward (weight preparation, calibration, cache building)."""
        if calls < 2:
            return {}
        first, last = self.work.get(0, {}), self.work.get(calls - 1, {})
        return {fn: n for fn, n in first.items() if n and not last.get(fn)}

    def note_stored(self, changes: list[Change], before, after):
        """Tensors this call stored in state (created or rebound, on storage that no state
        owned before): a later call reading them is what CUDA graphs cannot survive."""
        owned = set(module_storages(before))
        for c in changes:
            if c.tensor and c.kind in ("create", "rebind"):
                ptr = storage_ptr(after[c.path].value)
                if ptr and ptr not in owned:
                    self.stored[ptr] = (c.path, self.call)


def _assign(owner, name, value):
    if isinstance(owner, torch.nn.Module):
        for d in (owner._parameters, owner._buffers):
            if name in d:
                d[name] = value
                return
    d = getattr(owner, "__dict__", None)
    if d is not None:
        d[name] = value


class _Watch(TorchDispatchMode):
    def __init__(self, rec: _Recorder):
        super().__init__()
        self.rec = rec

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.rec.active:
            self.rec.on_op(func, args, kwargs)
        return func(*args, **kwargs)


@dataclasses.dataclass
class Audit:
    calls: int
    warmup: int  # eager calls after which forward writes nothing that a warm-up removes
    writes: list  # Write
    stopped: str  # steady | cap | budget | error
    seconds: float
    error: str | None = None
    one_time: dict = dataclasses.field(default_factory=dict)  # function -> ops on call 1

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
    rec = _Recorder(module)
    per_call: list[list[Change]] = []
    stopped, error = "cap", None
    try:
        snap = walk(module)
        rec.refresh(snap)
        for call in range(max_calls):
            rec.call = call
            args = inputs(call)
            with torch.no_grad(), _Watch(rec):
                rec.active = True
                try:
                    module(*args)
                    sync()
                finally:
                    rec.active = False
            after = walk(module)
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
        stopped, error = "error", f"{type(e).__name__}: {e}"[:500]
    finally:
        rec.unpatch()
    writes = _writes(rec, per_call, lazy)
    return Audit(len(per_call), warmup_calls(writes), writes, stopped,
                 round(time.perf_counter() - t0, 4), error, rec.one_time(len(per_call)))


_AUDIT_CODE = run_audit.__code__  # the stack above the module's call is the audit's own


def _writes(rec: _Recorder, per_call, lazy_prefixes) -> list[Write]:
    n = len(per_call)
    written: dict[str, set] = {}
    where: dict[str, tuple] = {}
    for e in rec.events:
        written.setdefault(e.path, set()).add(e.call)
        if e.where and e.path not in where:
            where[e.path] = e.where
    changed: dict[str, set] = {}
    kinds: dict[str, str] = {}
    tensors: dict[str, bool] = {}
    for call, changes in enumerate(per_call):
        for c in changes:
            changed.setdefault(c.path, set()).add(call)
            kinds.setdefault(c.path, c.kind)
            tensors[c.path] = tensors.get(c.path, False) or c.tensor
    out = []
    for path in dict.fromkeys([*changed, *written]):
        calls = written.get(path, set()) | changed.get(path, set())
        w = where.get(path)
        out.append(Write(
            path=path, kind=kinds.get(path, "value"), calls=call_span(calls, n),
            where=f"{short_path(w[0])}:{w[1]}" if w else None, tensor=tensors.get(path, False),
            changed=call_span(changed.get(path, set()), n), function=w[2] if w else None,
            read_later=path in rec.read_later,
            lazy=any(p == "" or path.startswith(p + ".") for p in lazy_prefixes)))
    return out


def warmup_calls(writes: list[Write]) -> int:
    """Eager calls before compiling after which forward no longer changes state that stops
    changing (first-call initialisation, a calibration window); running state is left."""
    k = 0
    for w in writes:
        if w.lazy:  # torch initialises its lazy modules before tracing: nothing to warm up
            continue
        if w.changed == "first":
            k = max(k, 1)
        elif w.changed.startswith("until "):
            k = max(k, int(w.changed.split()[1]))
    return min(k, WARMUP_CAP)
