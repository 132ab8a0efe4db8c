"""What a regional compile targets in the module: the repeated region the compile profile named
(classify/slowcompile.best_region: a function that one call runs N times, such as a denoise
step or a block's forward), found where the call tree saw it (the object's path from the
module); where the profile named none, nothing (the rows say so); only where no profile was
taken, the outermost module class that repeats in a stack. Used by the cold-start rows
``regional`` and ``nested-region``."""
from __future__ import annotations

import dataclasses
import os

from ..observe.sources import is_torch_class


@dataclasses.dataclass
class Region:
    label: str  # what the report names: "PI0Policy.denoise_step" or "GemmaDecoderLayer"
    owners: list  # [(dotted path, module)] whose function is compiled ("" is the module itself)
    function: str  # the method compiled: "forward" for a module class
    cls: type  # the class that defines it

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.owners]

    def compile_each(self, torch, mode: str) -> None:
        """The region compiled in place of the whole module, on each owner."""
        for _, m in self.owners:
            if self.function == "forward":
                m.compile(mode=mode)
            else:  # an instance attribute: this object's calls go through the compiled one
                setattr(m, self.function, torch.compile(getattr(m, self.function), mode=mode))

    def mark_nested(self, torch) -> None:
        """The class's function marked as a nested compile region (this process only)."""
        ncr = torch.compiler.nested_compile_region
        setattr(self.cls, self.function, ncr(getattr(self.cls, self.function)))


def _defines(cls: type, function: str, defined: str) -> bool:
    fn = getattr(cls, function, None)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    path, _, line = defined.rpartition(":")
    return os.path.normpath(code.co_filename).endswith(os.path.normpath(path)) and \
        str(code.co_firstlineno) == line


def _resolve(module, path: str):
    """The object at a dotted path from ``module``: submodules, then plain attributes."""
    obj = module
    for part in [p for p in path.split(".") if p]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def profiled_region(module, region: dict | None) -> Region | None:
    """The objects in ``module`` whose class defines the profiled region's function: the
    object at the path the call tree found it on (``owner``) and every other instance of its
    class in the module, else any module whose class defines it at the line profiled."""
    if not region or "function" not in region:
        return None
    fn, owners = region["function"], []
    if region.get("owner") is not None:
        held = _resolve(module, region["owner"])
        if held is not None and _defines(type(held), fn, region["defined"]):
            owners = [(region["owner"], held)]
            if (region.get("instances") or 1) > 1:
                owners += [(p, m) for p, m in module.named_modules()
                           if type(m) is type(held) and m is not held]
    if not owners:
        owners = [(p, m) for p, m in module.named_modules()
                  if _defines(type(m), fn, region["defined"])]
    if not owners:
        return None
    cls = type(owners[0][1])
    label = cls.__name__ if fn == "forward" else f"{cls.__name__}.{fn}"
    return Region(label, owners, fn, cls)


def repeated_class(module) -> Region | None:
    """The outermost module class with more than one instance, in a stack (the layers of a
    ModuleList or Sequential) where there is one: decoder layers, not the linear layers inside
    them (even where one linear sits outside them too), nor the two towers holding them.
    torch's own classes (nn.Linear) compiled alone are not traced: dynamo skips torch's files
    as the first frame."""
    from torch import nn

    containers = (nn.ModuleList, nn.ModuleDict, nn.Sequential)
    by_cls: dict = {}
    for name, m in module.named_modules():
        if name and not isinstance(m, containers) and not is_torch_class(type(m)):
            by_cls.setdefault(type(m), []).append(name)
    repeated = {c: ns for c, ns in by_cls.items() if len(ns) > 1}
    stacked = {c: ns for c, ns in repeated.items()  # a stack: the layers of a ModuleList
               if any(isinstance(module.get_submodule(n.rpartition(".")[0]), containers)
                      for n in ns if "." in n)}
    repeated = stacked or repeated
    inner = {n for c, ns in repeated.items() for n in ns
             for d, others in repeated.items() if d is not c
             for a in others if n.startswith(a + ".")}
    outer = [(c, ns) for c, ns in repeated.items() if not set(ns) & inner]
    if not outer:
        return None
    cls, names = max(outer, key=lambda cn: len(cn[1]))
    return Region(cls.__name__, [(n, module.get_submodule(n)) for n in names], "forward", cls)
