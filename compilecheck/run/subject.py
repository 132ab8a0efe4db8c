"""The module a cell diagnoses and the inputs of its calls, built once per worker and handed
out as fresh copies: the built-in DuQuant probe or a user's factory, on the target device."""
from __future__ import annotations

import copy

import torch

from ..plan.spec import CellSpec
from .standalone import (NoRepresentative, representative, seed_all, step_inputs,  # noqa: F401
                         to_device)


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
