"""The state reachable from a module (and from the objects a call is given), as a flat
snapshot by dotted path.

A snapshot maps a path from the root module (``layers.0._act_scale``, ``proj.calibrator._seen``,
``cache.layers[0].keys``, ``fc.forward_pre_hooks[StepHook].step``, ``args[1].layers[0].keys``)
to a fingerprint of the value found there: a tensor's identity, version counter and storage
(and, where it is safe to read, a checksum of its data, for writes the version counter does
not see: ``.data.copy_``, some kernels), a plain value itself, a container's identity and
shallow contents, another object's identity. The walk enters the module tree, the plain
objects hanging off it (calibrators, caches, configs) through ``__dict__`` and ``__slots__``,
the items of its lists, tuples and dicts, the hooks registered on its modules (named by what
the user registered: the hook object's class, the function or the bound method) and a forward
replaced by an instance attribute; cycles are entered once, and a depth and a size bound keep
it cheap on a policy with thousands of tensors. It never runs the objects' own code
(observe/safeaccess.py); an object it still cannot read is kept by identity and named in
``opaque``. observe/statediff.py compares two snapshots.
"""
from __future__ import annotations

import dataclasses
import functools
import types

import torch

from .fingerprint import MAX_ITEMS, fingerprint, is_plain, storage_ptr
from .safeaccess import (attributes, is_a, items, key_text, own_dict, reason, slots,
                         type_module, type_name)

# nn.Module bookkeeping that is not the module's own state (hooks are walked on their own)
MODULE_INTERNALS = frozenset({
    "training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
    "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_compiled_call_impl",
    "call_super_init", "_initialize_hook", "_load_hook",
})
# the hook registries of a module, and the name a path gives each
HOOKS = {"_forward_pre_hooks": "forward_pre_hooks", "_forward_hooks": "forward_hooks"}
# attributes torch itself puts on tensors it compiles (dynamo's static-input marks)
TORCH_TENSOR_ATTRS = ("__", "_dynamo", "_torchdynamo")
MAX_DEPTH = 10  # objects and containers below a module: cache.layers[3].keys is 3
MAX_ENTRIES = 200_000  # a whole policy's state fits; past it the walk stops adding
CALLABLES = (types.FunctionType, types.MethodType, functools.partial)


_NOT_OBJECTS = (torch.Tensor, torch.nn.Module, type, types.ModuleType,
                types.BuiltinFunctionType, *CALLABLES, dict, list, set, frozenset, tuple)


def _walks_into(v) -> bool:
    """A plain object of the user's or a library's (a calibrator, a cache, a config, a hook):
    its attributes are state."""
    if is_a(v, _NOT_OBJECTS) or is_plain(v):
        return False
    if type_module(v).startswith(("torch", "builtins", "typing", "threading", "logging",
                                  "_thread", "numpy")):
        return False
    return own_dict(v, strict=True) is not None or bool(slots(type(v)))


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
    return f"{path}[{key_text(key)}]"


def hook_name(fn) -> str:
    """A hook as its user would name it: the object's class, the bound method, the function."""
    if is_a(fn, types.MethodType):
        return f"{type_name(fn.__self__)}.{fn.__func__.__name__}"
    if is_a(fn, functools.partial):
        return hook_name(fn.func)
    if is_a(fn, types.FunctionType):
        return fn.__qualname__
    return type_name(fn)


def _tensor_key(t: torch.Tensor) -> tuple:
    """What makes two tensor objects the same data: storage, offset, shape, strides, dtype."""
    ptr = storage_ptr(t)
    if ptr is None:
        return ("id", id(t))
    try:
        return (ptr, t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
    except Exception:  # a subclass without strides
        return ("id", id(t))


class _Walk:
    def __init__(self, data):
        self.data = data  # True, False, or the ids of the tensors whose data may be read
        self.out: dict[str, Entry] = {}
        self.seen: set[int] = set()
        self.pending: list[Entry] = []  # tensors held in containers: kept unless owned
        self.opaque: dict[str, str] = {}  # path -> why the walk could not read it
        self.tensors: set = set()  # the tensors entered (one path each: an alias is not state)

    def add(self, path, owner, name, value, depth, in_container=False):
        if len(self.out) >= MAX_ENTRIES:
            return
        try:
            self._add(path, owner, name, value, depth, in_container)
        except Exception as e:  # the walk must not fail on anything it is given
            self.opaque[path] = reason(f"reading {type_name(value)}", e)
            self.out[path] = Entry(path, owner, name, value, ("object", id(value)))

    def _sums(self, value) -> bool:
        return self.data is True or (type(self.data) is frozenset and id(value) in self.data)

    def _add(self, path, owner, name, value, depth, in_container):
        if is_a(value, torch.Tensor) and not in_container:
            same = _tensor_key(value)
            if same in self.tensors:
                return  # the same data under a second name (a tied weight, a cache's alias)
            self.tensors.add(same)
        e = Entry(path, owner, name, value, fingerprint(value, self._sums(value)))
        if is_a(value, torch.Tensor):
            if in_container:
                self.pending.append(e)
                return
            self.out[path] = e
            for k, v in attributes(value):  # attributes torch allows on tensors (weight.CB)
                if is_a(k, str) and not k.startswith(TORCH_TENSOR_ATTRS):
                    self.out[_join(path, k)] = Entry(_join(path, k), value, k, v,
                                                     fingerprint(v))
            return
        self.out[path] = e
        if depth >= MAX_DEPTH or id(value) in self.seen or is_a(value, torch.nn.Module):
            return
        if is_a(value, (dict, list, tuple, set, frozenset)) and not is_plain(value):
            self.seen.add(id(value))
            for k, v in items(value, MAX_ITEMS):
                if is_a(v, torch.Tensor) or not is_plain(v):
                    self.add(item_path(path, k), value, k, v, depth + 1, in_container=True)
        elif is_a(value, CALLABLES):
            self.seen.add(id(value))
            self.callable(path, value, depth)
        elif _walks_into(value):
            self.seen.add(id(value))
            for k, v in attributes(value):
                if is_a(k, str):
                    self.add(_join(path, k), value, k, v, depth + 1)

    def callable(self, path, fn, depth):
        """A hook or a replaced forward: the object it is bound to (its attributes under the
        callable's own path), what its closure holds."""
        if is_a(fn, types.MethodType):
            obj = fn.__self__
            if _walks_into(obj) and id(obj) not in self.seen:
                self.seen.add(id(obj))
                for k, v in attributes(obj):
                    if is_a(k, str):
                        self.add(_join(path, k), obj, k, v, depth + 1)
        elif is_a(fn, functools.partial):
            for i, a in enumerate((fn.func, *fn.args)):
                if not is_plain(a):
                    self.add(item_path(_join(path, "args"), i), fn, i, a, depth + 1)
            keywords = fn.keywords if is_a(fn.keywords, dict) else {}
            for k, a in items(keywords, MAX_ITEMS):
                if not is_plain(a):
                    self.add(item_path(_join(path, "keywords"), k), keywords, k, a, depth + 1)
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
        own = mod.__dict__
        for k, v in own.items():
            if k not in MODULE_INTERNALS and not is_a(v, torch.nn.Module):
                self.add(_join(prefix, k), mod, k, v, 0)
        for h, shown in HOOKS.items():
            registry = own.get(h) or {}
            names: dict[str, int] = {}
            for k, fn in list(registry.items()):
                if is_a(fn, types.FunctionType) and not fn.__closure__:
                    continue  # a plain function holds no state
                name = hook_name(fn)
                names[name] = names.get(name, 0) + 1
                label = name if names[name] == 1 else f"{name}#{names[name]}"
                self.add(f"{_join(prefix, shown)}[{label}]", registry, k, fn, 0)

    def finish(self) -> dict[str, Entry]:
        # tensors kept in a container of the state, unless they are other state's tensors
        owned = {storage_ptr(e.value) for e in self.out.values()
                 if is_a(e.value, torch.Tensor)}
        for e in self.pending:
            if storage_ptr(e.value) not in owned or storage_ptr(e.value) is None:
                self.out.setdefault(e.path, e)
        return self.out


class Snapshot(dict):
    """path -> Entry, and ``opaque``: path -> why the walk could not read the object there."""

    opaque: dict


def walk(root: torch.nn.Module, data=False, args=()) -> Snapshot:
    """Every piece of state reachable from ``root`` (and from the objects among ``args``,
    under ``args[i]``), by dotted path. With ``data`` True each tensor's data is summed too
    (reads it: only where that is safe, in eager); a frozenset of tensor ids sums those alone
    (the module's own tensors, made before compiling: never a CUDA graph's output)."""
    w = _Walk(data)
    for prefix, mod in root.named_modules(remove_duplicate=True):
        w.module(prefix, mod)
    for i, a in enumerate(args or ()):
        if not is_a(a, torch.Tensor) and not is_plain(a):
            w.add(f"args[{i}]", args, i, a, 0)
    out = Snapshot(w.finish())
    out.opaque = w.opaque
    return out


def own_tensors(snapshot: dict[str, Entry]) -> frozenset:
    """The ids of the tensors in a snapshot: what a later walk may read the data of."""
    return frozenset(id(e.value) for e in snapshot.values() if is_a(e.value, torch.Tensor))


def module_storages(snapshot: dict[str, Entry]) -> dict[int, str]:
    """Storage address -> the path of the tensor (parameter, buffer, attribute) that owns it."""
    out: dict[int, str] = {}
    for path, e in snapshot.items():
        ptr = storage_ptr(e.value) if is_a(e.value, torch.Tensor) else None
        if ptr:
            out.setdefault(ptr, path)
    return out
