"""Reading a user's or a library's object without running its code.

The state walk meets whatever a module holds: a library's tuple subclass whose ``__len__``
raises, an object whose ``__eq__`` returns a tensor, a ``__getattr__`` that builds a new
object on every lookup, a property that raises, an ``__iter__`` that never ends. Any of
these is legal Python, and none may stop a diagnosis. So the walk never calls an object's own
protocols: it asks ``type(v)`` (never ``v.__class__``), reads a container through its builtin
base (``tuple.__len__(v)``, ``dict.items(v)``: the C storage, whatever a subclass overrides),
an instance's attributes through ``object.__getattribute__`` (the ``__dict__`` and slot
descriptors of its type, not ``__getattr__``), and turns a plain value into its builtin
equal (a ``str`` subclass into a ``str``) before anything compares it. What still raises makes
the object opaque: its identity is all the walk keeps, and the audit says why.
"""
from __future__ import annotations

import enum
import itertools

import torch

BUILTIN_PLAIN = (type(None), bool, int, float, complex, str, bytes)
TORCH_PLAIN = (torch.dtype, torch.device)
CONTAINERS = (dict, list, tuple, set, frozenset)


def is_a(v, classes) -> bool:
    """isinstance without asking the object (``__class__`` may be a property that raises)."""
    return issubclass(type(v), classes)


def type_name(v) -> str:
    t = type(v)
    return getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")


def type_module(v) -> str:
    try:
        mod = type.__getattribute__(type(v), "__module__")
    except Exception:  # a metaclass that refuses
        return ""
    return mod if type(mod) is str else ""


def reason(what: str, e: BaseException) -> str:
    """Why an object is opaque, in words that cannot raise (its exception's own ``__str__``
    might)."""
    try:
        text = BaseException.__str__(e)
    except Exception:
        text = ""
    return f"{what} raised {type(e).__name__}" + (f": {text[:120]}" if text else "")


def own_dict(v, strict: bool = False) -> dict | None:
    """The instance's ``__dict__`` as its type stores it, or None. ``strict``: a ``__dict__``
    that raises (a class that defines one) raises, so the caller can say why it is opaque."""
    try:
        d = object.__getattribute__(v, "__dict__")
    except AttributeError:  # no __dict__ (slots only)
        return None
    except Exception:  # a class that defines a __dict__ that raises
        if strict:
            raise
        return None
    return d if is_a(d, dict) else None


def slots(cls) -> tuple:
    out = []
    for c in type.__getattribute__(cls, "__mro__"):
        s = c.__dict__.get("__slots__", ())
        if is_a(s, str):
            s = (s,)
        elif not is_a(s, (tuple, list)):
            continue
        out += [n for n in s if is_a(n, str) and n not in ("__dict__", "__weakref__")]
    return tuple(out)


def slot_values(v) -> list[tuple[str, object]]:
    out = []
    for name in slots(type(v)):
        try:
            out.append((name, object.__getattribute__(v, name)))
        except Exception:  # a slot not set (AttributeError), or a property over it
            pass
    return out


def attributes(v) -> list[tuple[str, object]]:
    """An object's own attributes: its ``__dict__`` and its ``__slots__``."""
    d = own_dict(v, strict=True)
    out = list(dict.items(d)) if d is not None else []
    return out + slot_values(v)


def length(v) -> int:
    """A container's length through its builtin base."""
    for base in (dict, list, tuple, set, frozenset):
        if is_a(v, base):
            return base.__len__(v)
    raise TypeError(f"{type_name(v)} is not a builtin container")


def items(v, limit: int) -> list[tuple[object, object]]:
    """(key, value) of a dict, (index, item) of a list or tuple, (i, item) of a set sorted by
    identity: at most ``limit``, read through the builtin base."""
    if is_a(v, dict):
        return list(itertools.islice(dict.items(v), limit))
    if is_a(v, (set, frozenset)):
        base = set if is_a(v, set) else frozenset
        return list(enumerate(sorted(itertools.islice(base.__iter__(v), limit), key=id)))
    base = list if is_a(v, list) else tuple
    return list(enumerate(itertools.islice(base.__iter__(v), limit)))


def key_text(k) -> str:
    """A container key as a path shows it: repr for builtin values, the type and identity of
    anything else (its own ``__repr__`` is not called)."""
    if type(k) in BUILTIN_PLAIN or is_a(k, TORCH_PLAIN):
        return repr(k)
    if is_a(k, enum.Enum):
        return f"{type_name(k)}.{object.__getattribute__(k, '_name_')}"
    if type(k) is tuple and all(type(x) in BUILTIN_PLAIN for x in k):
        return repr(k)
    return f"<{type_name(k)} {id(k):#x}>"


def canonical(v):
    """A plain value as its builtin equal, safe to compare and hash: a subclass of ``str``,
    ``int`` or ``tuple`` compares with its own ``__eq__``, which may do anything."""
    if type(v) in BUILTIN_PLAIN or is_a(v, TORCH_PLAIN):
        return v
    if is_a(v, enum.Enum):
        return ("enum", id(v))
    if is_a(v, int):
        return int.__index__(v)
    if is_a(v, float):
        return float.__float__(v)
    if is_a(v, str):
        return str.__str__(v)
    if is_a(v, bytes):
        return bytes(memoryview(v))
    if is_a(v, complex):
        return complex(float.__float__(v.real), float.__float__(v.imag))
    if is_a(v, tuple):
        return tuple(canonical(x) for x in tuple.__iter__(v))
    raise TypeError(f"{type_name(v)} is not a plain value")
