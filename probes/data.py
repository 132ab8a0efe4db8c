"""Seeded weights and activations that look like a real transformer's: a few outlier channels."""
from __future__ import annotations

import torch
from torch import nn

from .shapes import Shape


def outlier_channels(n: int, seed: int, count: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed + 7)
    count = count if count is not None else max(2, n // 32)
    return torch.randperm(n, generator=g)[:count]


def make_linear(shape: Shape, seed: int) -> nn.Linear:
    """nn.Linear with seeded weights; the input columns that meet outlier activations are
    larger too, as in trained projections."""
    g = torch.Generator().manual_seed(seed)
    lin = nn.Linear(shape.in_features, shape.out_features)
    with torch.no_grad():
        w = torch.randn(shape.out_features, shape.in_features, generator=g)
        w /= shape.in_features**0.5
        w[:, outlier_channels(shape.in_features, seed)] *= 4.0
        lin.weight.copy_(w)
        lin.bias.copy_(0.01 * torch.randn(shape.out_features, generator=g))
    return lin


def make_activations(shape: Shape, seed: int, steps: int) -> list[torch.Tensor]:
    """``steps`` distinct inputs (successive policy steps): N(0, 1) tokens with a few channels
    an order of magnitude larger, as LLM activations have."""
    out = []
    idx = outlier_channels(shape.in_features, seed)
    for step in range(steps):
        g = torch.Generator().manual_seed(seed * 1000 + step + 1)
        x = torch.randn(shape.tokens, shape.in_features, generator=g)
        x[:, idx] *= 20.0
        out.append(x)
    return out
