"""The modules that hold the state forward writes, one of each kind: the first instance of every
distinct (class, parameter and buffer shapes) among the audit's write holders. A policy's 28
quantised layers of three shapes are three kinds; what is measured beyond the target mode (other
modes, call patterns) runs on one of each instead of the whole module (plan/cells.py)."""
from __future__ import annotations

import torch

from .sources import is_torch_class


def _signature(m: torch.nn.Module) -> tuple:
    return (type(m).__qualname__,
            tuple((n, tuple(t.shape)) for n, t in (*m.named_parameters(), *m.named_buffers())
                  if t is not None))


def _compilable(path: str, modules: dict) -> str:
    """The holder itself, or where its class is torch's own (an observer, a Sequential: not
    traced when compiled alone), the nearest module above it that is not ("" the root)."""
    while path and is_torch_class(type(modules[path])):
        path = path.rpartition(".")[0]
    return path


def distinct_holders(writes: list, root: torch.nn.Module) -> list[dict]:
    """[{path, class, instances}] for each kind of module below the root that holds a write and
    holds no module that does (a tower whose config forward writes is the sum of its layers:
    its layers are measured, and the whole policy in the target mode covers its own write);
    a holder of one of torch's own classes stands for the nearest module above it of a class
    that is not; empty where that is the root, where the root itself holds one (the module is
    the unit: nothing smaller answers for it) or where no write was seen."""
    modules = dict(root.named_modules())
    paths = [_compilable(p, modules) for w in writes for p in (w.instances or []) if p in modules]
    if not paths or "" in paths:
        return []
    kinds: dict = {}
    unique = list(dict.fromkeys(paths))
    for p in unique:
        if any(q.startswith(p + ".") for q in unique):
            continue  # it holds modules that hold state: those are measured, it is their sum
        kinds.setdefault(_signature(modules[p]), []).append(p)
    return [{"path": ps[0], "class": sig[0], "instances": len(ps)} for sig, ps in kinds.items()]
