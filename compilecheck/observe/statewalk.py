"""The state reachable from a module, as a flat snapshot, and what changed between two.

A snapshot maps a dotted path from the root module (``layers.0._act_scale``,
``proj.calibrator._seen``) to a fingerprint of the value found there: a tensor's identity and
version counter, a plain value itself, a container's identity and shallow contents, another
object's identity. Comparing two snapshots says what a call wrote, by kind:
``create`` (a new attribute), ``rebind`` (another object bound to the name), ``inplace`` (a
tensor's version counter moved), ``value`` (a Python value or a container's contents changed),
``delete``. It reads metadata only (``_version``, ids): never a tensor's data, so it is safe
on tensors a CUDA graph owns.
"""
from __future__ import annotations

import dataclasses
import enum
import types

import torch

# nn.Module bookkeeping that is not the module's own state
MODULE_INTERNALS = frozenset({
    "training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
    "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_compiled_call_impl",
    "call_super_init", "_initialize_hook", "_load_hook",
})
# attributes torch itself puts on tensors it compiles (dynamo's static-input marks)
TORCH_TENSOR_ATTRS = ("__", "_dynamo", "_torchdynamo")
PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device,
         torch.Size, enum.Enum)
MAX_DEPTH = 3  # plain objects hanging off modules: calibrator._seen, cache.store.x
MAX_ITEMS = 256  # a container's items fingerprinted one by one


def is_plain(v) -> bool:
    return isinstance(v, PLAIN) or (isinstance(v, tuple) and len(v) <= MAX_ITEMS
                                    and all(is_plain(x) for x in v))


def tensor_version(t: torch.Tensor):
    try:
        return t._version
    except RuntimeError:  # inference tensors keep no version counter
        return None


def _walks_into(v) -> bool:
    """A plain object of the user's (a calibrator, an observer): its attributes are state."""
    if isinstance(v, (torch.Tensor, torch.nn.Module, type, types.ModuleType,
                      types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                      dict, list, set, tuple)) or is_plain(v):
        return False
    mod = getattr(type(v), "__module__", "") or ""
    return hasattr(v, "__dict__") and not mod.startswith(("torch", "builtins", "typing"))


def _item_print(v):
    if isinstance(v, torch.Tensor):
        return ("t", id(v), tensor_version(v))
    if is_plain(v):
        return ("v", v)
    return ("o", id(v))


DATA_MAX = 1 << 24  # elements; a larger tensor is followed by its version counter alone


def data_sum(t: torch.Tensor):
    """A checksum of a floating tensor's data: some kernels write their tensors without
    telling the version counter (batch norm's running statistics)."""
    try:
        if not t.is_floating_point() or t.numel() > DATA_MAX or t.device.type == "meta":
            return None
        with torch.no_grad():
            return float(t.detach().sum(dtype=torch.float64))
    except Exception:  # an uninitialised (lazy) parameter, a subclass without data
        return None


def fingerprint(v, data: bool = False):
    if isinstance(v, torch.Tensor):
        return ("tensor", id(v), tensor_version(v), data_sum(v) if data else None)
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
    owner: object  # the module or object holding it
    name: str
    value: object
    print: tuple


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def walk(root: torch.nn.Module, data: bool = False) -> dict[str, Entry]:
    """Every piece of state reachable from ``root``, by dotted path. With ``data`` each
    floating tensor's data is summed too (reads it: only where that is safe, in eager)."""
    out: dict[str, Entry] = {}
    seen: set[int] = set()

    def add(path, owner, name, value, depth):
        out[path] = Entry(path, owner, name, value, fingerprint(value, data))
        if isinstance(value, torch.Tensor):
            extra = getattr(value, "__dict__", None)
            for k, v in (extra or {}).items():  # Python attributes on a tensor (weight.CB)
                if not k.startswith(TORCH_TENSOR_ATTRS):
                    out[_join(path, k)] = Entry(_join(path, k), value, k, v, fingerprint(v))
        elif depth < MAX_DEPTH and _walks_into(value) and id(value) not in seen:
            seen.add(id(value))
            for k, v in list(vars(value).items()):
                add(_join(path, k), value, k, v, depth + 1)

    for prefix, mod in root.named_modules(remove_duplicate=True):
        seen.add(id(mod))
        for k, v in mod._parameters.items():
            add(_join(prefix, k), mod, k, v, 0)
        for k, v in mod._buffers.items():
            add(_join(prefix, k), mod, k, v, 0)
        for k, v in mod.__dict__.items():
            if k in MODULE_INTERNALS or isinstance(v, torch.nn.Module):
                continue
            add(_join(prefix, k), mod, k, v, 0)
    # tensors kept in a dict or list of the state, unless they are other state's tensors
    owned = {storage_ptr(e.value) for e in out.values() if isinstance(e.value, torch.Tensor)}
    for path, e in list(out.items()):
        items = e.value.items() if isinstance(e.value, dict) else \
            enumerate(e.value) if isinstance(e.value, list) else ()
        for k, v in list(items)[:MAX_ITEMS]:
            if isinstance(v, torch.Tensor) and storage_ptr(v) not in owned:
                out[item_path(path, k)] = Entry(item_path(path, k), e.value, k, v,
                                                fingerprint(v, data))
    return out


def item_path(path: str, key) -> str:
    return f"{path}[{key!r}]"


@dataclasses.dataclass(frozen=True)
class Change:
    path: str
    kind: str  # create | rebind | inplace | value | delete
    tensor: bool  # the value written is a tensor


def diff(before: dict[str, Entry], after: dict[str, Entry]) -> list[Change]:
    out = []
    for path, a in after.items():
        b = before.get(path)
        is_tensor = isinstance(a.value, torch.Tensor)
        if b is None:
            out.append(Change(path, "create", is_tensor))
        elif b.print == a.print:
            continue
        elif b.print[0] != a.print[0]:
            out.append(Change(path, "rebind", is_tensor))
        elif b.print[0] == "tensor":  # another object, or its version or data moved
            out.append(Change(path, "rebind" if b.print[1] != a.print[1] else "inplace", True))
        elif b.print[0] in ("value",):
            out.append(Change(path, "value", False))
        elif b.print[0] == "object" or b.print[1] != a.print[1]:
            out.append(Change(path, "rebind", False))
        else:  # the same container, other contents
            out.append(Change(path, "value", False))
    out += [Change(p, "delete", isinstance(b.value, torch.Tensor))
            for p, b in before.items() if p not in after]
    return out


def module_storages(snapshot: dict[str, Entry]) -> dict[int, str]:
    """Storage address -> the path of the tensor (parameter, buffer, attribute) that owns it."""
    out: dict[int, str] = {}
    for path, e in snapshot.items():
        ptr = storage_ptr(e.value) if isinstance(e.value, torch.Tensor) else None
        if ptr:
            out.setdefault(ptr, path)
    return out


def storage_ptr(t: torch.Tensor) -> int | None:
    try:
        return t.untyped_storage().data_ptr() or None
    except Exception:  # sparse, meta, or a subclass without storage
        return None


class Checkpoint:
    """The state of a module tree, to put back after calls that change it (the timing loop
    of a stateful module). Only what changed is put back: an attribute created since is
    removed, one rebound gets its old object, a container its old contents, a tensor written
    in place (among ``inplace_paths``) its old data."""

    def __init__(self, root: torch.nn.Module, inplace_paths=()):
        self.root = root
        self.snapshot = walk(root)
        self.contents = {}
        for e in self.snapshot.values():
            if isinstance(e.value, dict):
                self.contents[id(e.value)] = dict(e.value)
            elif isinstance(e.value, list):
                self.contents[id(e.value)] = list(e.value)
        self.data = {}
        for p in inplace_paths:
            e = self.snapshot.get(p)
            if e is not None and isinstance(e.value, torch.Tensor):
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
                    if isinstance(old.value, dict):
                        old.value.clear()
                        old.value.update(saved)
                    else:
                        old.value[:] = saved
                else:
                    _put(old.owner, old.name, old.value)
            for path, saved in self.data.items():
                self.snapshot[path].value.copy_(saved)


def _put(owner, name, value, delete=False):
    """Assign (or remove) an attribute where it lives, without the owner's __setattr__ (a
    container's items are put back with the container)."""
    if isinstance(owner, (dict, list)):
        return
    if isinstance(owner, torch.nn.Module):
        for d in (owner._parameters, owner._buffers):
            if name in d:
                if delete:
                    del d[name]
                else:
                    d[name] = value
                return
    d = getattr(owner, "__dict__", None)
    if d is None:
        return
    if delete:
        d.pop(name, None)
    else:
        d[name] = value
