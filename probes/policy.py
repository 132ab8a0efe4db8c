"""The built-in POLICY probe: a pi0-shaped policy whose projections are DuQuant layers.

``build_policy(size, variant, config, seed)`` returns ``(module, args)``: the policy of
``probes/policy_model.py`` at one of ``POLICY_SIZES`` (``probes/policy_sizes.py``), eval mode,
every projection the fork's ``select_targets`` would wrap replaced by a DuQuant layer of
``variant`` (``probes.VARIANTS``) built from a seeded ``nn.Linear`` with outlier columns
(``probes/data.py``), and the example inputs of one policy call. ``module(*args)`` is one
``sample_actions``: prefix pass, then ``num_steps`` denoise steps; it returns the actions.

Mirrors the fork's ``duquant_layers.py``: ``select_targets`` over ``named_modules()`` with the
include/exclude regexes ``enable_duquant_if_configured`` passes by default (scope: the whole
model, as the pi0 launcher sets ``OPENPI_DUQUANT_SCOPE``), and ``wrap_duquant``'s skip of
``action_out_proj`` (which the ``out_proj`` pattern matches). At ``pi0`` that is
27 x 6 + 18 x 7 + 18 x 7 = 414 layers (REFERENCE section 5); ``policy_targets`` lists them from
a skeleton on the meta device, without building any weights.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from .config import DuQuantConfig
from .data import make_linear
from .duquant import CalibratedDuQuantLinear
from .policy_model import PI0Policy
from .policy_sizes import POLICY_SIZES, PolicySize, policy_size
from .shapes import Shape

INCLUDE = r".*(q_proj|k_proj|v_proj|o_proj|out_proj|fc1|fc2|gate_proj|up_proj|down_proj).*"
EXCLUDE = r"(?:^|\.)(norm|ln|layernorm|emb)(?:\.|$)"
# select_targets' own default include lacks o_proj and gate_proj; the launcher's (above) has
# them, and so does the 18 x 7 per Gemma tower of REFERENCE section 5.


def select_targets(model: nn.Module, include: str = INCLUDE, exclude: str = EXCLUDE,
                   scope: str = "") -> list[tuple[str, nn.Linear]]:
    """(name, linear) of every nn.Linear the fork wraps, in named_modules() order."""
    inc, exc = re.compile(include), re.compile(exclude)
    return [(name, mod) for name, mod in model.named_modules()
            if isinstance(mod, nn.Linear) and name.startswith(scope)
            and inc.search(name) and not exc.search(name)
            and not (name.endswith("action_out_proj") or ".action_out_proj" in name)]


def policy_targets(size: str) -> list[tuple[str, int, int]]:
    """(name, in, out) of the wrapped projections at ``size``, from a meta-device skeleton
    (cheap even at pi0)."""
    with torch.device("meta"):
        skeleton = PI0Policy(policy_size(size))
    return [(n, m.in_features, m.out_features) for n, m in select_targets(skeleton)]


def _variant(name: str):
    from . import VARIANTS  # probes/__init__.py defines the registry

    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}: expected one of {', '.join(VARIANTS)}")
    return VARIANTS[name].layer


def _seeded_linear(linear: nn.Linear, seed: int) -> nn.Linear:
    fresh = make_linear(Shape(1, linear.in_features, linear.out_features), seed)
    if linear.bias is None:
        fresh.bias = None  # Gemma's projections have no bias, SigLIP's do
    return fresh


def _init_plain(module: nn.Module) -> None:
    """Embeddings at the scale the real ones have after pi0's sqrt(width) multiplication."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Embedding):
                m.weight.normal_(0.0, m.embedding_dim**-0.5)


def _calibrate(module: nn.Module, args: tuple) -> None:
    """Calibrated layers: each freezes its scale on the first input it meets in one eager call
    (the layer probe calibrates on the first input too)."""
    def hook(layer, inputs):
        if not layer.calibrated:
            layer.calibrate([inputs[0]])

    handles = [m.register_forward_pre_hook(hook) for m in module.modules()
               if isinstance(m, CalibratedDuQuantLinear)]
    try:
        with torch.no_grad():
            module(*args)
    finally:
        for h in handles:
            h.remove()


def build_policy(size: str = "tiny", variant: str = "deployed",
                 config: DuQuantConfig | None = None, seed: int = 0) -> tuple[nn.Module, tuple]:
    """The seeded policy (eval) at ``size`` with DuQuant layers of ``variant``, and the example
    args of one policy call. ValueError for an unknown size or variant, or a block size that
    does not divide every wrapped layer's in and out."""
    spec = policy_size(size)
    layer_cls = _variant(variant)
    config = config if config is not None else DuQuantConfig()
    spec.check_block(config.block)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = PI0Policy(spec)
        _init_plain(module)
    for i, (name, linear) in enumerate(select_targets(module)):
        parent_name, _, attr = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attr, layer_cls(_seeded_linear(linear, seed * 10007 + i + 1), config))
    module.eval()
    args = policy_inputs(size, seed, 1)[0]
    if layer_cls is CalibratedDuQuantLinear:
        _calibrate(module, args)
    return module, args


def policy_inputs(size: str, seed: int, calls: int) -> list[tuple]:
    """``calls`` distinct input tuples for successive policy calls, seeded:
    (images, img_masks, lang_tokens, lang_masks, state, noise). The prompt stays the same
    (its last quarter padding, mask False); cameras, state and noise change every call."""
    spec = policy_size(size)
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, spec.vocab, (1, spec.text_tokens), generator=g)
    lang_masks = torch.ones(1, spec.text_tokens, dtype=torch.bool)
    pad = spec.text_tokens // 4
    if pad:
        tokens[:, -pad:] = 0
        lang_masks[:, -pad:] = False
    out = []
    for call in range(calls):
        g = torch.Generator().manual_seed(seed * 1000 + call + 1)
        side = spec.image_size
        images = tuple(torch.rand(1, 3, side, side, generator=g) * 2 - 1
                       for _ in range(spec.images))
        img_masks = tuple(torch.ones(1, dtype=torch.bool) for _ in range(spec.images))
        state = torch.randn(1, spec.action_dim, generator=g)
        noise = torch.randn(1, spec.action_horizon, spec.action_dim, generator=g)
        out.append((images, img_masks, tokens.clone(), lang_masks.clone(), state, noise))
    return out


__all__ = ["POLICY_SIZES", "PolicySize", "PI0Policy", "build_policy", "policy_inputs",
           "policy_targets", "select_targets", "INCLUDE", "EXCLUDE"]
