"""The audit's instruments on the user's objects: a recording ``__setattr__`` (and, for the
attributes that hold Python values, a recording ``__getattribute__``) patched onto their
classes for the audited calls, and recording dicts and lists put in place of the plain ones
in their state. Each reports to the recorder (observe/recording.py); ``unpatch`` puts every
class back.

A write through a property or another data descriptor is the write of its public name, made
at the user's line: the descriptor runs its own code and stores under another name
(``config._attn_implementation`` -> ``_attn_implementation_internal``), and the names it
changed while it ran are recorded as aliases of the public one.
"""
from __future__ import annotations

import types

import torch

from .safeaccess import attributes, is_a, items, own_dict
from .fingerprint import MAX_ITEMS, fingerprint
from .statewalk import item_path

_MISSING = object()
# descriptors that are the storage itself, not code over it
_STORAGE_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)


class _RecordingDict(dict):
    def _note(self):
        self._rec.on_item(self._path)

    def __setitem__(self, k, v):
        self._note()
        if is_a(v, torch.Tensor):
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


def recording(value, rec, path):
    """A recording copy of a plain dict or list (anything else is returned as it is)."""
    cls = {dict: _RecordingDict, list: _RecordingList}.get(type(value))
    if cls is None:
        return value
    out = cls(value)
    out._rec, out._path = rec, path
    return out


def assign(owner, name, value) -> bool:
    """Put ``value`` where ``owner.name`` is stored, without the owner's ``__setattr__``."""
    if is_a(owner, torch.nn.Module):
        for d in (owner._parameters, owner._buffers):
            if name in d:
                d[name] = value
                return True
    d = own_dict(owner)
    if d is not None and name in d:
        dict.__setitem__(d, name, value)
        return True
    return False


def data_descriptor(cls, name):
    """The property or descriptor with a setter that an assignment to ``name`` runs, if any."""
    try:
        for c in type.__getattribute__(cls, "__mro__"):
            d = c.__dict__.get(name, _MISSING)
            if d is _MISSING:
                continue
            if type(d) in _STORAGE_DESCRIPTORS or not hasattr(type(d), "__set__"):
                return None
            return d
    except Exception:  # a class that refuses to be read: treated as a plain attribute
        return None
    return None


def own_prints(obj) -> dict:
    """name -> fingerprint of an object's own attributes, and of the items of those that are
    dicts or lists (``_memories['v']``): what a descriptor or a class's own ``__setattr__``
    may change when it stores a value under another name."""
    out = {}
    try:
        pairs = attributes(obj)
    except Exception:  # an object that refuses to be read: no alias learnt
        return out
    for k, v in pairs:
        try:
            out[k] = fingerprint(v)
            if is_a(v, (dict, list)):
                for key, item in items(v, MAX_ITEMS):
                    out[item_path(k, key)] = fingerprint(item)
        except Exception:
            out[k] = ("object", id(v))
    return out


def stores_elsewhere(cls, originals: dict) -> bool:
    """Does an assignment on instances of ``cls`` run a ``__setattr__`` of its own (not
    object's, not nn.Module's), which may store the value under another name
    (``self.v = x`` kept in ``self._memories['v']``)? ``originals``: the classes patched so
    far and their own ``__setattr__``."""
    try:
        for c in type.__getattribute__(cls, "__mro__"):
            if c in (object, torch.nn.Module):
                return False
            if originals.get(c, c.__dict__.get("__setattr__", _MISSING)) is not _MISSING:
                return True
    except Exception:  # a class that refuses to be read
        return False
    return False


class ClassPatches:
    """The recording ``__setattr__`` and ``__getattribute__`` of the classes the audit
    watches; every class is put back by ``unpatch``."""

    def __init__(self, rec):
        self.rec = rec
        self._set: dict[type, object] = {}
        self._get: dict[type, object] = {}
        self._elsewhere: dict[type, bool] = {}
        self._data = _MISSING  # torch.Tensor's own `data`, while `.data =` is watched

    def elsewhere(self, cls) -> bool:
        if cls not in self._elsewhere:
            self._elsewhere[cls] = stores_elsewhere(cls, self._set)
        return self._elsewhere[cls]

    def data_assignments(self):
        """``t.data = x`` is a write of the tensor's path (it moves no version counter and
        runs no torch operation): torch.Tensor's ``data`` is watched while the audit runs."""
        if self._data is not _MISSING:
            return
        base = torch._C.TensorBase.data  # the getset descriptor every tensor reads
        rec = self.rec

        def set_data(t, value):
            if rec.active and rec.depth == 0:
                rec.on_data(t)
            base.__set__(t, value)

        self._data = torch.Tensor.__dict__.get("data", None)
        torch.Tensor.data = property(lambda t: base.__get__(t, type(t)), set_data)

    @staticmethod
    def _patchable(cls) -> bool:
        return cls not in (torch.Tensor, object) and \
            getattr(cls, "__module__", "builtins") != "builtins"

    def setattr_of(self, cls):
        if cls in self._set or not self._patchable(cls):
            return
        own = cls.__dict__.get("__setattr__", _MISSING)
        rec, patches = self.rec, self

        def __setattr__(obj, name, value, _cls=cls, _own=own):
            watched = rec.depth == 0 and rec.active and id(obj) in rec.owner_paths
            before = None
            if watched:
                value = rec.on_set(obj, name, value)
                if data_descriptor(type(obj), name) is not None or patches.elsewhere(type(obj)):
                    before = own_prints(obj)
            rec.depth += 1
            try:
                if _own is _MISSING:
                    super(_cls, obj).__setattr__(name, value)
                else:
                    _own(obj, name, value)
            finally:
                rec.depth -= 1
            if before is not None:
                after = own_prints(obj)
                rec.on_descriptor(obj, name, [k for k in after if after[k] != before.get(k)])

        if self._install(cls, "__setattr__", __setattr__):
            self._set[cls] = own

    def getattribute_of(self, cls):
        """Reads of the attributes that hold Python values (which order, within a call, a read
        and the write of the same attribute come in)."""
        if cls in self._get:
            return True
        if not self._patchable(cls):
            return False
        own = cls.__dict__.get("__getattribute__", _MISSING)
        rec = self.rec

        def __getattribute__(obj, name, _cls=cls, _own=own):
            if rec.active and rec.depth == 0 and name in rec.watched_names:
                rec.on_get(obj, name)
            if _own is _MISSING:
                return super(_cls, obj).__getattribute__(name)
            return _own(obj, name)

        if not self._install(cls, "__getattribute__", __getattribute__):
            return False
        self._get[cls] = own
        return True

    @staticmethod
    def _install(cls, name, fn) -> bool:
        try:
            setattr(cls, name, fn)
        except Exception:  # a class defined in C, or a metaclass that refuses
            return False
        return True

    def unpatch(self):
        if self._data is not _MISSING:
            if self._data is None:
                del torch.Tensor.data
            else:
                torch.Tensor.data = self._data
            self._data = _MISSING
        for name, patched in (("__setattr__", self._set), ("__getattribute__", self._get)):
            for cls, own in patched.items():
                try:
                    if own is _MISSING:
                        delattr(cls, name)
                    else:
                        setattr(cls, name, own)
                except Exception:
                    pass
            patched.clear()
