"""Built-in probes: the DuQuant W4A8 layer in five variants (installed as compilecheck.probes).

A variant is one small registry entry; ``build`` turns (variant, shape, config, seed) into a
ready module plus the sequence of inputs a policy loop would feed it.
"""
from __future__ import annotations

import dataclasses

import torch

from .config import ConfigError, DuQuantConfig
from .data import make_activations, make_linear
from .deployed import DeployedDuQuantLinear
from .duquant import (
    BufferCloneDuQuantLinear,
    CalibratedDuQuantLinear,
    DuQuantLinear,
    LazyDuQuantLinear,
    WeightOnlyDuQuantLinear,
)
from .shapes import PRESETS, Shape, parse_shape


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    layer: type
    summary: str


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("lazy", LazyDuQuantLinear,
                "scale assigned to module state on the first forward (the original layer)"),
        Variant("buffer-clone", BufferCloneDuQuantLinear,
                "registered buffer + clone + init flag (the hand-written full fix)"),
        Variant("deployed", DeployedDuQuantLinear,
                "what the fork's current forward writes: weight cache built on the first "
                "call, rotation dicts, calibrator, buffer + clone + flag"),
        Variant("calibrated", CalibratedDuQuantLinear,
                "scale from calibrate() before compiling; forward reads frozen buffers"),
        Variant("weight-only", WeightOnlyDuQuantLinear,
                "the deployed layer with abits 16 (no activation quantisation)"),
    )
}


@dataclasses.dataclass
class Probe:
    module: torch.nn.Module
    inputs: list  # one input tensor per policy step


def build(variant: str, shape: Shape, config: DuQuantConfig, seed: int, steps: int) -> Probe:
    """The seeded layer of ``variant`` and ``steps`` distinct inputs (calibrated on the first)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    module = VARIANTS[variant].layer(make_linear(shape, seed), config).eval()
    inputs = make_activations(shape, seed, steps)
    if isinstance(module, CalibratedDuQuantLinear):
        module.calibrate(inputs[:1])
    return Probe(module, inputs)


from .policy import POLICY_SIZES, PolicySize, build_policy, policy_inputs  # noqa: E402

__all__ = [
    "VARIANTS", "Variant", "Probe", "build", "DuQuantConfig", "ConfigError", "DuQuantLinear",
    "PRESETS", "Shape", "parse_shape", "make_linear", "make_activations",
    "POLICY_SIZES", "PolicySize", "build_policy", "policy_inputs",
]
