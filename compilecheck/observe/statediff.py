"""What changed between two snapshots of observe/statewalk.py, and a checkpoint to put a
module tree's state back.

Comparing two snapshots says what a call wrote, by kind: ``create`` (a new attribute),
``rebind`` (another object bound to the name), ``inplace`` (a tensor's version counter, data
or storage moved: ``copy_``, ``.data.copy_``, ``.data =``), ``value`` (a Python value or a
container's contents changed), ``delete``. Snapshots taken without data read metadata only
(``_version``, ids, storage addresses): safe on tensors a CUDA graph owns.
"""
from __future__ import annotations

import dataclasses
import functools
import types

import torch

from .safeaccess import is_a, own_dict, slots
from .statewalk import Entry, walk


@dataclasses.dataclass(frozen=True)
class Change:
    path: str
    kind: str  # create | rebind | inplace | value | delete
    tensor: bool  # the value written is a tensor


def diff(before: dict[str, Entry], after: dict[str, Entry]) -> list[Change]:
    out = []
    for path, a in after.items():
        b = before.get(path)
        is_tensor = is_a(a.value, torch.Tensor)
        if b is None:
            out.append(Change(path, "create", is_tensor))
        elif b.print == a.print:
            continue
        elif b.print[0] != a.print[0]:
            out.append(Change(path, "rebind", is_tensor))
        elif b.print[0] in ("tensor", "array"):  # another object, or its data moved
            if b.print[1] != a.print[1]:
                out.append(Change(path, "rebind", is_tensor))
            elif not _same_data(b.print, a.print):
                out.append(Change(path, "inplace", is_tensor))
        elif b.print[0] in ("value",):
            out.append(Change(path, "value", False))
        elif b.print[0] == "object" or b.print[1] != a.print[1]:
            out.append(Change(path, "rebind", False))
        else:  # the same container, other contents
            out.append(Change(path, "value", False))
    out += [Change(p, "delete", is_a(b.value, torch.Tensor))
            for p, b in before.items() if p not in after]
    return out


def _same_data(b: tuple, a: tuple) -> bool:
    """The same tensor holds the same values: its data checksum, where both snapshots read
    it, and its storage (a version bump alone is a write that stored the same values again:
    written, not changed); where data was not read, the version counter says."""
    if b[0] == "array":
        return b[2] == a[2]
    if b[3] is not None and a[3] is not None:
        return b[3] == a[3] and b[4] == a[4]
    return b[2:] == a[2:]


class Checkpoint:
    """The state of a module tree, to put back after calls that change it (the timing loop
    of a stateful module). Only what changed is put back: an attribute created since is
    removed, one rebound gets its old object, a container its old contents, a tensor written
    in place (among ``inplace_paths``) its old data."""

    def __init__(self, root: torch.nn.Module, inplace_paths=()):
        self.root = root
        self.snapshot = walk(root)
        self.contents = {}
        for e in self.snapshot.values():  # through the builtin base: no user code runs
            if is_a(e.value, dict):
                self.contents[id(e.value)] = dict(dict.items(e.value))
            elif is_a(e.value, list):
                self.contents[id(e.value)] = list(list.__iter__(e.value))
        self.data = {}
        for p in inplace_paths:
            e = self.snapshot.get(p)
            if e is not None and is_a(e.value, torch.Tensor):
                self.data[p] = e.value.detach().clone()

    def restore(self):
        now = walk(self.root)
        with torch.no_grad():
            for c in diff(self.snapshot, now):
                old, new = self.snapshot.get(c.path), now.get(c.path)
                if c.kind == "create":
                    _put(new.owner, new.name, None, delete=True)
                elif c.kind == "inplace":
                    continue  # tensors written in place: below, whether or not torch said so
                elif old is not None and old.print[0] in ("dict", "list") and \
                        old.print[1] == new.print[1]:
                    saved = self.contents[id(old.value)]
                    if is_a(old.value, dict):
                        dict.clear(old.value)
                        dict.update(old.value, saved)
                    else:
                        list.__setitem__(old.value, slice(None), saved)
                else:
                    _put(old.owner, old.name, old.value)
            for path, saved in self.data.items():
                self.snapshot[path].value.copy_(saved)


def _put(owner, name, value, delete=False):
    """Assign (or remove) an attribute where it lives, without the owner's __setattr__ (a
    container's items are put back with the container)."""
    if is_a(owner, (dict, list, tuple, set, frozenset, types.MethodType, functools.partial)):
        return
    if is_a(owner, types.CellType):  # a closure's variable
        if not delete:
            owner.cell_contents = value
        return
    if is_a(owner, torch.nn.Module):
        for d in (owner._parameters, owner._buffers):
            if name in d:
                if delete:
                    del d[name]
                else:
                    d[name] = value
                return
    d = own_dict(owner)
    if d is None or name not in d and name in slots(type(owner)):
        try:  # a slot
            object.__delattr__(owner, name) if delete else object.__setattr__(owner, name, value)
        except Exception:  # a read-only object: it stays as the calls left it
            pass
        return
    if delete:
        dict.pop(d, name, None)
    else:
        dict.__setitem__(d, name, value)
