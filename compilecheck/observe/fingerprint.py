"""What a snapshot keeps of a value (observe/statewalk.py): a tensor's identity, version
counter, storage address and, where it is safe to read, a checksum of its data (any dtype: bool
flags and integer codes too; the writes the version counter does not see, ``.data.copy_``); a
plain value as its builtin equal; a container's identity and shallow contents; a numpy array's
checksum; any other object's identity. Built from builtin values only: snapshots are compared
with ``==``, which must never run a user's ``__eq__``.
"""
from __future__ import annotations

import enum

import torch

from .safeaccess import BUILTIN_PLAIN, canonical, is_a, items, key_text, length, type_module, type_name

PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device,
         torch.Size, enum.Enum)
MAX_ITEMS = 256  # a container's items fingerprinted one by one
DATA_MAX = 1 << 24  # elements; a larger tensor is followed by its version counter alone


def is_plain(v) -> bool:
    if type(v) in BUILTIN_PLAIN or is_a(v, PLAIN):
        return True
    return is_a(v, tuple) and length(v) <= MAX_ITEMS and \
        all(is_plain(x) for x in tuple.__iter__(v))


def tensor_version(t: torch.Tensor):
    try:
        return t._version
    except Exception:  # inference tensors keep no version counter; odd subclasses
        return None


def storage_ptr(t: torch.Tensor) -> int | None:
    try:
        return t.untyped_storage().data_ptr() or None
    except Exception:  # sparse, meta, or a subclass without storage
        return None


def _item_print(v):
    """An item as its container's print holds it: which object, not what is in it (a tensor
    written in place is its own entry's write, or its owner's, not the container's)."""
    if is_a(v, torch.Tensor):
        return ("t", id(v))
    if is_plain(v):
        return ("v", canonical(v))
    return ("o", id(v))


ORDER_MAX = 1 << 20  # elements; up to this size the checksum also weighs each position


def data_sum(t: torch.Tensor):
    """A checksum of a tensor's data, any dtype (bool flags and integer codes too): some
    writes do not tell the version counter (``.data.copy_``, batch norm's statistics), and a
    write that stores the same values again bumps the version without changing anything. The
    sum, and where the tensor is not large the sum weighted by position (a window rolled in
    place keeps its sum)."""
    try:
        if t.numel() > DATA_MAX or t.device.type == "meta" or t.is_sparse:
            return None
        with torch.no_grad():
            d = t.detach()
            if d.is_complex():
                d = torch.view_as_real(d)
            wide = torch.float64 if d.is_floating_point() else torch.int64
            total = d.sum(dtype=wide)
            order = d.reshape(-1).to(wide).cumsum(0).sum() if d.numel() <= ORDER_MAX \
                else total
            return (float(total), float(order)) if d.is_floating_point() else \
                (int(total), int(order))
    except Exception:  # an uninitialised (lazy) parameter, a subclass without data
        return None


def _array_sum(v):
    """A numpy array's checksum (an observation normaliser's running mean updated in
    place), through torch's view of its memory; None where torch cannot view it."""
    try:
        return data_sum(torch.as_tensor(v))
    except Exception:
        return None


def fingerprint(v, data: bool = False):
    """What a snapshot keeps of a value, built from builtin values only: snapshots are
    compared with ``==``, which must never run a user's ``__eq__``."""
    if is_a(v, torch.Tensor):
        return ("tensor", id(v), tensor_version(v), data_sum(v) if data else None,
                storage_ptr(v))
    if is_plain(v):
        return ("value", canonical(v))
    if is_a(v, (dict, list, tuple, set, frozenset)):
        kind = "dict" if is_a(v, dict) else "set" if is_a(v, (set, frozenset)) else \
            "list" if is_a(v, list) else "tuple"
        shown = items(v, MAX_ITEMS) if kind != "set" else []
        return (kind, id(v), tuple((key_text(k), _item_print(x)) for k, x in shown), length(v))
    if type_module(v).startswith("numpy") and type_name(v) == "ndarray":
        return ("array", id(v), _array_sum(v) if data else None)
    return ("object", id(v))
