"""The audit's instruments: a recording ``__setattr__`` for the classes of a module tree and of
the plain objects hanging off it, recording dicts and lists for the containers in its state,
and a dispatch mode that sees every torch operation (in-place writes to the tree's tensors,
reads of tensors a call stored, the work each user function does). observe/audit.py runs the calls
and says what the recording means.
"""
from __future__ import annotations

import dataclasses
import sys
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .sources import is_module_code, is_user_file
from .statediff import Change
from .statewalk import fingerprint, item_path, module_storages, storage_ptr


@dataclasses.dataclass
class Event:
    call: int
    path: str
    where: tuple | None  # (file, line, function)


class _RecordingDict(dict):
    def _note(self):
        self._rec.on_item(self._path)

    def __setitem__(self, k, v):
        self._note()
        if isinstance(v, torch.Tensor):
            self._rec.on_item(item_path(self._path, k), v)
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


class Recorder:
    """What the audit sees during the module's calls: the writes (``events``), the tensors
    a call stored and later calls read, and the torch operations each user function does.
    ``stop`` is the code of the caller's frame: the stack above it is not the module's."""

    def __init__(self, root: torch.nn.Module, stop):
        self.root = root
        self.stop = stop
        self.active = False
        self.call = 0
        self.depth = 0
        self.events: list[Event] = []
        self.owner_paths: dict[int, str] = {}
        self.storages: dict[int, str] = {}
        # storage -> (path, call it was stored, a weak reference to the tensor stored)
        self.stored: dict[int, tuple[str, int, weakref.ref]] = {}
        self.stored_at: dict[str, int] = {}  # path -> the storage its tensor has now
        self.inputs: set = set()  # storages of this call's tensor arguments: not outputs
        self.read_later: set[str] = set()  # read by a call before that call wrote it
        self.reads: dict[str, dict[int, str]] = {}  # path -> call -> earlier | own
        self.work: dict[int, dict[str, int]] = {}  # call -> function -> operations
        self.last_use: dict[str, tuple] = {}  # path -> where an op last took its tensor
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
                if _assign(e.owner, e.name, wrapped):
                    e.value, e.print = wrapped, fingerprint(wrapped, True)
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
    def _where(self, frame=None):
        """The line that made the write: the innermost frame of the module's code (the
        user's, or torch's own layers) between it and the audit's own call of the module."""
        frame = frame or sys._getframe(2)
        while frame is not None and frame.f_code is not self.stop:
            if is_module_code(frame.f_code.co_filename):
                return frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
            frame = frame.f_back
        return None

    def on_set(self, obj, name, value):
        if name.startswith("__"):
            return value
        prefix = self.owner_paths[id(obj)]
        path = f"{prefix}.{name}" if prefix else name
        self.events.append(Event(self.call, path, self._where()))
        if isinstance(value, torch.Tensor):
            self.store(path, value)
        return _recording(value, self, path)

    def store(self, path, t: torch.Tensor):
        """``path`` now holds ``t``, stored by this call: the tensor it held before is no
        longer what a read of ``path`` reads."""
        old = self.stored_at.pop(path, None)
        if old is not None and self.stored.get(old, ("",))[0] == path:
            del self.stored[old]
        ptr = storage_ptr(t)
        if ptr and ptr not in self.storages and ptr not in self.inputs:  # not a buffer's
            self.stored[ptr] = (path, self.call, weakref.ref(t))
            self.stored_at[path] = ptr

    def on_item(self, path, value=None):
        if self.active:
            self.events.append(Event(self.call, path, self._where()))
            if value is not None:
                self.store(path, value)

    def on_op(self, func, args, kwargs):
        frame = sys._getframe(2)
        self._count_work(frame)
        where = None
        for v in (*args, *kwargs.values()):  # the op each tensor of the tree last went into
            path = self.storages.get(storage_ptr(v)) if isinstance(v, torch.Tensor) else None
            if path:
                where = where or self._where(frame)
                self.last_use[path] = where
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
                    if isinstance(t, torch.Tensor):
                        self._read(storage_ptr(t))

    def _read(self, ptr):
        """A read of a stored tensor: of the value an earlier call stored (what CUDA graphs
        cannot survive), or of the one this call wrote first."""
        hit = self.stored.get(ptr)
        if hit is None:
            return
        path, call, ref = hit
        held = ref()
        if held is None or storage_ptr(held) != ptr:  # freed: the address was reused
            del self.stored[ptr]
            return
        order = "earlier" if call < self.call else "own"
        self.reads.setdefault(path, {}).setdefault(self.call, order)
        if order == "earlier":
            self.read_later.add(path)

    def given(self, args):
        """The call's arguments: a tensor stored that is (a view of) one of them is the
        caller's, not an output of the call."""
        flat = [t for a in args for t in (a if isinstance(a, (list, tuple)) else (a,))]
        self.inputs = {storage_ptr(t) for t in flat if isinstance(t, torch.Tensor)}

    def _count_work(self, frame):
        """One more operation for every user function on the stack (the work each does)."""
        work = self.work.setdefault(self.call, {})
        seen = set()
        while frame is not None and frame.f_code is not self.stop:
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
                t = after[c.path].value
                ptr = storage_ptr(t)
                if ptr and ptr not in owned and ptr not in self.inputs and \
                        self.stored_at.get(c.path) != ptr:
                    self.stored[ptr] = (c.path, self.call, weakref.ref(t))
                    self.stored_at[c.path] = ptr


def _assign(owner, name, value):
    if isinstance(owner, torch.nn.Module):
        for d in (owner._parameters, owner._buffers):
            if name in d:
                d[name] = value
                return True
    d = getattr(owner, "__dict__", None)
    if d is not None and name in d:
        d[name] = value
        return True
    return False


class Watch(TorchDispatchMode):
    """Every torch operation during the audited calls, handed to the recorder."""

    def __init__(self, rec: Recorder):
        super().__init__()
        self.rec = rec

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.rec.active:
            self.rec.on_op(func, args, kwargs)
        return func(*args, **kwargs)
