"""The state reachable from a module (and from the objects a call is given), as a flat
snapshot by dotted path.

A snapshot maps a path from the root module (``layers.0._act_scale``, ``proj.calibrator._seen``,
``cache.layers[0].keys``, ``_forward_pre_hooks[3].step``, ``args[1].layers[0].keys``) to a
fingerprint of the value found there: a tensor's identity, version counter and storage (and,
where it is safe to read, a checksum of its data, for writes the version counter does not
see: ``.data.copy_``, some kernels), a plain value itself, a container's identity and shallow
contents, another object's identity. The walk enters the module tree, the plain objects
hanging off it (calibrators, caches, configs, hook registries) through ``__dict__`` and
``__slots__``, the items of its lists, tuples and dicts, the hooks registered on its modules
(objects, bound methods' objects, closures' cells) and a forward replaced by an instance
attribute; cycles are entered once, and a depth and a size bound keep it cheap on a policy
with thousands of tensors. observe/statediff.py compares two snapshots.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import types

import torch

# nn.Module bookkeeping that is not the module's own state (hooks are walked on their own)
MODULE_INTERNALS = frozenset({
    "training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
    "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_compiled_call_impl",
    "call_super_init", "_initialize_hook", "_load_hook",
})
HOOKS = ("_forward_pre_hooks", "_forward_hooks")
# attributes torch itself puts on tensors it compiles (dynamo's static-input marks)
TORCH_TENSOR_ATTRS = ("__", "_dynamo", "_torchdynamo")
PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device,
         torch.Size, enum.Enum)
MAX_DEPTH = 10  # objects and containers below a module: cache.layers[3].keys is 3
MAX_ITEMS = 256  # a container's items fingerprinted one by one
MAX_ENTRIES = 200_000  # a whole policy's state fits; past it the walk stops adding
DATA_MAX = 1 << 24  # elements; a larger tensor is followed by its version counter alone


def is_plain(v) -> bool:
    return isinstance(v, PLAIN) or (isinstance(v, tuple) and len(v) <= MAX_ITEMS
                                    and all(is_plain(x) for x in v))


def tensor_version(t: torch.Tensor):
    try:
        return t._version
    except RuntimeError:  # inference tensors keep no version counter
        return None


def storage_ptr(t: torch.Tensor) -> int | None:
    try:
        return t.untyped_storage().data_ptr() or None
    except Exception:  # sparse, meta, or a subclass without storage
        return None


def _walks_into(v) -> bool:
    """A plain object of the user's or a library's (a calibrator, a cache, a config, a hook):
    its attributes are state."""
    if isinstance(v, (torch.Tensor, torch.nn.Module, type, types.ModuleType,
                      types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                      functools.partial, dict, list, set, tuple)) or is_plain(v):
        return False
    mod = getattr(type(v), "__module__", "") or ""
    if mod.startswith(("torch", "builtins", "typing", "threading", "logging", "_thread")):
        return False
    return hasattr(v, "__dict__") or bool(_slots(type(v)))


def _slots(cls) -> tuple:
    out = []
    for c in cls.__mro__:
        s = c.__dict__.get("__slots__", ())
        out += [s] if isinstance(s, str) else [n for n in s if n not in ("__dict__",
                                                                          "__weakref__")]
    return tuple(out)


def attributes(v) -> list[tuple[str, object]]:
    """An object's own attributes: its __dict__ and its __slots__."""
    out = list(getattr(v, "__dict__", {}).items())
    for name in _slots(type(v)):
        try:
            out.append((name, object.__getattribute__(v, name)))
        except AttributeError:  # a slot not set
            pass
    return out


def _item_print(v):
    if isinstance(v, torch.Tensor):
        return ("t", id(v), tensor_version(v))
    if is_plain(v):
        return ("v", v)
    return ("o", id(v))


def data_sum(t: torch.Tensor):
    """A checksum of a tensor's data, any dtype (bool flags and integer codes too): some
    writes do not tell the version counter (``.data.copy_``, batch norm's statistics)."""
    try:
        if t.numel() > DATA_MAX or t.device.type == "meta" or t.is_sparse:
            return None
        with torch.no_grad():
            d = t.detach()
            if d.is_complex():
                d = torch.view_as_real(d)
            if d.is_floating_point():
                return float(d.sum(dtype=torch.float64))
            return int(d.sum(dtype=torch.int64))
    except Exception:  # an uninitialised (lazy) parameter, a subclass without data
        return None


def fingerprint(v, data: bool = False):
    if isinstance(v, torch.Tensor):
        return ("tensor", id(v), tensor_version(v), data_sum(v) if data else None,
                storage_ptr(v))
    if is_plain(v):
        return ("value", v)
    if isinstance(v, dict):
        items = list(v.items())[:MAX_ITEMS]
        return ("dict", id(v), tuple((repr(k), _item_print(x)) for k, x in items), len(v))
    if isinstance(v, (list, set, tuple)):
        items = list(v)[:MAX_ITEMS] if not isinstance(v, set) else []
        return (type(v).__name__, id(v), tuple(_item_print(x) for x in items), len(v))
    return ("object", id(v))


@dataclasses.dataclass
class Entry:
    path: str
    owner: object  # the module, object or container holding it
    name: object  # its attribute name, or its key in the container
    value: object
    print: tuple


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def item_path(path: str, key) -> str:
    return f"{path}[{key!r}]"


class _Walk:
    def __init__(self, data: bool):
        self.data = data
        self.out: dict[str, Entry] = {}
        self.seen: set[int] = set()
        self.pending: list[Entry] = []  # tensors held in containers: kept unless owned

    def add(self, path, owner, name, value, depth, in_container=False):
        if len(self.out) >= MAX_ENTRIES:
            return
        e = Entry(path, owner, name, value, fingerprint(value, self.data))
        if isinstance(value, torch.Tensor):
            if in_container:
                self.pending.append(e)
                return
            self.out[path] = e
            for k, v in getattr(value, "__dict__", {}).items():  # attributes (weight.CB)
                if not k.startswith(TORCH_TENSOR_ATTRS):
                    self.out[_join(path, k)] = Entry(_join(path, k), value, k, v,
                                                     fingerprint(v))
            return
        self.out[path] = e
        if depth >= MAX_DEPTH or id(value) in self.seen or isinstance(value, torch.nn.Module):
            return
        if isinstance(value, (dict, list, tuple, set)) and not is_plain(value):
            self.seen.add(id(value))
            items = value.items() if isinstance(value, dict) else \
                enumerate(sorted(value, key=id)) if isinstance(value, set) else enumerate(value)
            for k, v in list(items)[:MAX_ITEMS]:
                if isinstance(v, torch.Tensor) or not is_plain(v):
                    self.add(item_path(path, k), value, k, v, depth + 1, in_container=True)
        elif isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
            self.seen.add(id(value))
            self.callable(path, value, depth)
        elif _walks_into(value):
            self.seen.add(id(value))
            for k, v in attributes(value):
                self.add(_join(path, k), value, k, v, depth + 1)

    def callable(self, path, fn, depth):
        """A hook or a replaced forward: the object it is bound to, what its closure holds."""
        if isinstance(fn, types.MethodType):
            self.add(_join(path, "__self__"), fn, "__self__", fn.__self__, depth + 1)
        elif isinstance(fn, functools.partial):
            for i, a in enumerate((fn.func, *fn.args)):
                if not is_plain(a):
                    self.add(item_path(_join(path, "args"), i), fn, i, a, depth + 1)
        else:
            cells = fn.__closure__ or ()
            for name, cell in zip(fn.__code__.co_freevars, cells):
                try:
                    v = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if not is_plain(v):
                    self.add(_join(path, name), cell, name, v, depth + 1)

    def module(self, prefix, mod):
        self.seen.add(id(mod))
        for k, v in mod._parameters.items():
            self.add(_join(prefix, k), mod, k, v, 0)
        for k, v in mod._buffers.items():
            self.add(_join(prefix, k), mod, k, v, 0)
        for k, v in mod.__dict__.items():
            if k not in MODULE_INTERNALS and not isinstance(v, torch.nn.Module):
                self.add(_join(prefix, k), mod, k, v, 0)
        for h in HOOKS:
            for k, fn in list(getattr(mod, h, {}).items()):
                if not isinstance(fn, types.FunctionType) or fn.__closure__:
                    self.add(item_path(_join(prefix, h), k), getattr(mod, h), k, fn, 0)

    def finish(self) -> dict[str, Entry]:
        # tensors kept in a container of the state, unless they are other state's tensors
        owned = {storage_ptr(e.value) for e in self.out.values()
                 if isinstance(e.value, torch.Tensor)}
        for e in self.pending:
            if storage_ptr(e.value) not in owned or storage_ptr(e.value) is None:
                self.out.setdefault(e.path, e)
        return self.out


def walk(root: torch.nn.Module, data: bool = False, args=()) -> dict[str, Entry]:
    """Every piece of state reachable from ``root`` (and from the objects among ``args``,
    under ``args[i]``), by dotted path. With ``data`` each tensor's data is summed too (reads
    it: only where that is safe, in eager)."""
    w = _Walk(data)
    for prefix, mod in root.named_modules(remove_duplicate=True):
        w.module(prefix, mod)
    for i, a in enumerate(args or ()):
        if not isinstance(a, torch.Tensor) and not is_plain(a):
            w.add(f"args[{i}]", args, i, a, 0)
    return w.finish()


def module_storages(snapshot: dict[str, Entry]) -> dict[int, str]:
    """Storage address -> the path of the tensor (parameter, buffer, attribute) that owns it."""
    out: dict[int, str] = {}
    for path, e in snapshot.items():
        ptr = storage_ptr(e.value) if isinstance(e.value, torch.Tensor) else None
        if ptr:
            out.setdefault(ptr, path)
    return out
