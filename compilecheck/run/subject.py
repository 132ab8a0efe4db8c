"""The module a cell diagnoses and the inputs of its calls, built once per worker and handed
out as fresh copies: the built-in DuQuant probe or a user's factory, on the target device."""
from __future__ import annotations

import copy

import torch

from ..plan.spec import CellSpec


def to_device(value, device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def step_inputs(args: tuple, steps: int, seed: int) -> list[tuple]:
    """Distinct inputs for successive policy steps from one example: step 0 is the example,
    later steps perturb its floating-point tensors (the noise is made on the CPU and moved to
    the example's device, so a factory may return inputs already on the GPU); a tensor given
    twice stays one tensor, as dynamo guards on that."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(steps):
        made: dict = {}  # one input passed twice (q, k, v of self-attention) stays one

        def perturbed(a):
            if not (isinstance(a, torch.Tensor) and a.is_floating_point() and i):
                return a
            if id(a) not in made:
                made[id(a)] = a + (0.05 * i * torch.randn(a.shape, generator=g)).to(a.device,
                                                                                     a.dtype)
            return made[id(a)]

        out.append(tuple(perturbed(a) for a in args))
    return out


class Subject:
    """A module and the inputs of its calls; ``inputs(i)`` for any call i (cycling through the
    distinct steps), all on ``device``."""

    def __init__(self, module: torch.nn.Module, steps: list, device: str):
        self.module = module
        self.steps = steps
        self.device = device

    def inputs(self, i: int) -> tuple:
        return self.steps[i % len(self.steps)]

    def sync(self):
        if self.device == "cuda":
            torch.cuda.synchronize()


_templates: dict = {}


def probe_key(spec: CellSpec) -> tuple:
    return (spec.variant, spec.probe, spec.shape, spec.config, spec.seed, spec.iters,
            spec.scope)


def fresh(spec: CellSpec) -> Subject:
    """A fresh copy of the cell's module and its step inputs, on the cell's device. A user's
    module is built again by its factory, seeded, for every copy: a deep copy shares what it
    cannot copy (a forward replaced by a closure over a hook object and the original module,
    objects passed as arguments), so the eager reference and the compiled copy would share
    the history of that state. The built-in probes' template is built once per worker and
    copied (building a large layer's rotations takes a while)."""
    from ..plan.userprobes import policy_parts

    if spec.probe is not None and not policy_parts(spec.probe):
        module, steps = _build(spec)
        return Subject(module.to(spec.device), [to_device(a, spec.device) for a in steps],
                       spec.device)
    key = probe_key(spec)
    if key not in _templates:
        _templates.clear()  # one template at a time: cells of one probe come together
        _templates[key] = _build(spec)
    module, steps = _templates[key]
    try:
        module = copy.deepcopy(module)
    except Exception:  # a module that cannot be copied is built again
        module, steps = _build(spec)
    return Subject(module.to(spec.device), [to_device(a, spec.device) for a in steps],
                   spec.device)


def _build(spec: CellSpec):
    if spec.scope != "whole":
        import dataclasses

        module, steps = _build(dataclasses.replace(spec, scope="whole"))
        return representative(module, steps, spec.scope, spec.iters)
    torch.manual_seed(spec.seed)
    if spec.probe is None:
        from .. import probes
        from ..probes.config import DuQuantConfig

        shape = probes.parse_shape(spec.shape)
        p = probes.build(spec.variant, shape, DuQuantConfig(**spec.config_dict), spec.seed,
                         spec.iters)
        return p.module, [(x,) for x in p.inputs]
    from ..plan.userprobes import call_factory, load_factory, policy_parts

    if policy_parts(spec.probe):  # the built-in policy: its own distinct calls
        from .. import probes
        from ..probes.config import DuQuantConfig

        size, _ = policy_parts(spec.probe)
        factory = load_factory(spec.probe, DuQuantConfig(**spec.config_dict), spec.seed)
        module, _ = call_factory(factory, spec.probe)
        return module, probes.policy_inputs(size, spec.seed, spec.iters)
    module, args = call_factory(load_factory(spec.probe), spec.probe)
    return module, step_inputs(args, spec.iters, spec.seed)


class NoRepresentative(ValueError):
    """The module at a representative's path cannot run alone (the cell is skipped: the whole
    module's cells cover it)."""


def representative(module, steps: list, path: str, iters: int):
    """The instance at ``path`` as it was before any call, and the inputs the whole module's
    own calls give it (its first ``iters`` calls, over as many whole calls as that takes)."""
    sub = module.get_submodule(path)
    before = copy.deepcopy(sub)
    seen: list = []

    def keep(_, args, kwargs):
        if kwargs:
            raise NoRepresentative(f"{path} is called with keyword arguments: it cannot be run "
                                   "alone on the inputs recorded (the whole module's cells "
                                   "cover it)")
        seen.append(tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a
                          for a in args))

    handle = sub.register_forward_pre_hook(keep, with_kwargs=True)
    inside: set = set()  # its submodules the whole module's calls reach
    hooks = [m.register_forward_pre_hook(lambda m, a, name=name: inside.add(name))
             for name, m in sub.named_modules() if name]
    forward, own = sub.forward, vars(sub).get("forward")  # a forward already patched stays
    direct: list = []

    def counted(*a, **kw):  # its own forward, however reached (``__call__`` or ``.forward``)
        direct.append(1)
        return forward(*a, **kw)

    sub.forward = counted
    try:
        with torch.no_grad():
            for i in range(max(1, iters)):
                module(*steps[i % len(steps)])
                if len(seen) >= iters:
                    break
    finally:
        handle.remove()
        for h in hooks:
            h.remove()
        if own is not None:
            sub.forward = own
        else:
            del sub.forward
    if not seen:
        raise NoRepresentative(_not_called(path, bool(direct), sorted(inside)))
    return before, seen[:iters]


def _not_called(path: str, direct: bool, inside: list) -> str:
    """Why the instance at ``path`` cannot be run alone, true for the module."""
    if direct:
        return (f"{path}.forward is called directly (not through the module's __call__), so "
                "its inputs cannot be recorded to run it alone (the whole module's cells "
                "cover it)")
    if inside:
        return (f"{path}.forward is never called by the module's forward, only parts of it "
                f"({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}): it cannot be "
                "run alone (the whole module's cells cover those parts)")
    return f"{path} is not called by the module's forward"


def seed_all(seed: int):
    """The same random stream for every copy at the start of its call history (a lazy
    module initialises its parameters on its first call)."""
    torch.manual_seed(seed)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
