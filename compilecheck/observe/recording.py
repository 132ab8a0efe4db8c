"""What the audit records while the module's calls run: every write to its state (from the
instruments on its objects, observe/instruments.py), the tensors a call stored and the calls
that read them, the reads of attributes holding Python values and their order within a call,
the names a property stores under, and, through a dispatch mode that sees every torch
operation, in-place writes to the tree's tensors and the work each user function does.
observe/audit.py runs the calls and says what the recording means.
"""
from __future__ import annotations

import dataclasses
import sys
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from .sources import is_module_code, is_user_file
from .statediff import Change
from .instruments import ClassPatches, assign, recording
from .safeaccess import is_a, own_dict
from .fingerprint import fingerprint, storage_ptr
from .statewalk import module_storages


@dataclasses.dataclass
class Event:
    call: int
    path: str
    where: tuple | None  # (file, line, function)


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
        self.swapped: list = []  # (owner, name, original, recording copy) put back by unpatch
        self._user_files: dict[str, bool] = {}
        self.patches = ClassPatches(self)
        self.aliases: dict[str, str] = {}  # a name a property stores under -> its public path
        self.written_now: set[str] = set()  # paths this call has written so far
        self.watched_names: set[str] = set()  # attributes holding Python values a call wrote
        self.watched: dict[int, object] = {}  # id -> the objects holding them
        self.watched_paths: set[str] = set()  # their paths (reads seen from the next call)
        self.unwatchable: set[str] = set()  # owners whose class cannot be patched
        self.storage: set[str] = set()  # containers a __setattr__ stores public names in
        self.tensor_paths: dict[int, str] = {}  # id -> path of the state's tensors

    # -- what is watched
    def begin(self, call: int):
        """A new call: the order of reads and writes starts again."""
        self.call = call
        self.written_now = set()

    def refresh(self, snapshot):
        """Before a call: owners by path, containers made recording, classes patched."""
        self.owner_paths = {id(m): p for p, m in self.root.named_modules(remove_duplicate=True)}
        wrapped: dict[int, object] = {}  # one recording copy per container, for every owner
        self.tensor_paths = {}
        for path, e in snapshot.items():
            if is_a(e.value, torch.Tensor):
                self.tensor_paths.setdefault(id(e.value), path)
            if is_a(e.owner, (dict, list)):
                continue  # a tensor inside a container: the container records its writes
            if id(e.owner) not in self.owner_paths:
                self.owner_paths[id(e.owner)] = path.rsplit(".", 1)[0] if "." in path else ""
            if type(e.value) in (dict, list) and not is_a(e.owner, torch.Tensor):
                original = e.value
                copy = wrapped.setdefault(id(e.value), recording(e.value, self, path))
                if assign(e.owner, e.name, copy):
                    self.swapped.append((e.owner, e.name, original, copy))
                    e.value, e.print = copy, fingerprint(copy, True)
            self.patches.setattr_of(type(e.owner))
        self.patches.data_assignments()
        for m in self.root.modules():
            self.patches.setattr_of(type(m))
        for i, obj in self.watched.items():
            if not self.patches.getattribute_of(type(obj)) and i in self.owner_paths:
                self.unwatchable.add(self.owner_paths[i])
        self.storages = module_storages(snapshot)

    def unpatch(self):
        """Every class and every container as it was: a recording copy must not outlive the
        audit (a library's cache, shared by the modules compiled later, holds the same
        objects; dynamo cannot trace a list subclass as a list). The original container gets
        what the calls left in the copy, in place, and goes back where it was."""
        self.patches.unpatch()
        for owner, name, original, copy in reversed(self.swapped):
            here = own_dict(owner)
            if here is None or dict.get(here, name) is not copy:
                continue  # rebound since: what is there now is the program's
            if is_a(original, dict):
                dict.clear(original)
                dict.update(original, dict.items(copy))
            else:
                list.__setitem__(original, slice(None), list.__iter__(copy))
            assign(owner, name, original)
        self.swapped = []

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

    def _path(self, obj, name) -> str:
        prefix = self.owner_paths[id(obj)]
        return f"{prefix}.{name}" if prefix else name

    def on_set(self, obj, name, value):
        if name.startswith("__"):
            return value
        path = self._path(obj, name)
        self.events.append(Event(self.call, path, self._where()))
        self.written_now.add(path)
        if is_a(value, torch.Tensor):
            self.store(path, value)
        elif not is_a(value, torch.nn.Module):  # a Python value: watch its reads from now on
            self.watched_names.add(name)
            self.watched[id(obj)] = obj
            self.watched_paths.add(path)
        copy = recording(value, self, path)
        if copy is not value:
            self.swapped.append((obj, name, value, copy))
        return copy

    def on_descriptor(self, obj, name, stored: list):
        """A property, another descriptor or the class's own ``__setattr__`` set ``name`` and
        changed ``stored`` of the object's own attributes (or items of its containers): those
        are ``name`` as its user wrote it; a container it stored into is its storage."""
        public = self._path(obj, name)
        containers = {k[:k.index("[")] for k in stored if "[" in k}
        for k in stored:
            if k == name:
                continue
            if k in containers:  # the container it stored into: its item is the write
                self.storage.add(self._path(obj, k))
                continue
            self.aliases[self._path(obj, k)] = public
            if "[" not in k:
                self.watched_names.add(k)

    def on_data(self, t):
        """``t.data = x`` on a tensor of the state."""
        path = self.tensor_paths.get(id(t))
        if path is not None:
            self.events.append(Event(self.call, path, self._where()))
            self.written_now.add(path)

    def reads_seen(self, path: str) -> bool:
        """Were the reads of the Python value at ``path`` watched (its owner's class could be
        patched, and forward wrote it through ``__setattr__``)?"""
        owner = path.rsplit(".", 1)[0] if "." in path else ""
        return path in self.watched_paths and owner not in self.unwatchable

    def on_get(self, obj, name):
        """A read of an attribute holding a Python value: of the value an earlier call left
        (a guard dynamo keeps), or of the one this call wrote first."""
        if id(obj) not in self.watched or id(obj) not in self.owner_paths:
            return
        path = self._path(obj, name)
        path = self.aliases.get(path, path)
        order = "own" if path in self.written_now else "earlier"
        self.reads.setdefault(path, {}).setdefault(self.call, order)

    def store(self, path, t: torch.Tensor):
        """``path`` now holds ``t``, stored by this call: the tensor it held before is no
        longer what a read of ``path`` reads. The same tensor stored there again is still the
        value the call that first stored it made."""
        if storage_ptr(t) is not None and self.stored_at.get(path) == storage_ptr(t):
            return
        old = self.stored_at.pop(path, None)
        if old is not None and self.stored.get(old, ("",))[0] == path:
            del self.stored[old]
        ptr = storage_ptr(t)
        if ptr and ptr not in self.storages and ptr not in self.inputs:  # not a buffer's
            self.stored[ptr] = (path, self.call, weakref.ref(t))
            self.stored_at[path] = ptr

    def on_item(self, path, value=None):
        if self.active and self.depth == 0:  # inside a __setattr__: the outer write's
            self.events.append(Event(self.call, path, self._where()))
            self.written_now.add(path)
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
        stats = _running_stats(schema, args, kwargs)
        for i, a in enumerate(schema.arguments):
            if (a.alias_info is None or not a.alias_info.is_write) and a.name not in stats:
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
        flat = [t for a in args for t in (list(a) if type(a) in (list, tuple) else (a,))]
        self.inputs = {storage_ptr(t) for t in flat if is_a(t, torch.Tensor)}

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


def _running_stats(schema, args, kwargs) -> tuple:
    """The arguments a batch-norm kernel writes although its schema does not say so:
    ``native_batch_norm`` and its cudnn/miopen siblings take ``Tensor? running_mean`` without
    ``(a!)`` and update it in training."""
    names = [a.name for a in schema.arguments]
    if "running_mean" not in names or "training" not in names:
        return ()
    i = names.index("training")
    training = args[i] if i < len(args) else kwargs.get("training", False)
    return ("running_mean", "running_var") if training is True else ()


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
