"""ema-pytorch EMA wrapper: forward runs the EMA copy (step/initted buffers, never written in forward)."""
import torch
from torch import nn
from ema_pytorch import EMA


def factory():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 8))
    m = EMA(net, beta=0.99, update_after_step=0, update_every=1)
    return m, (torch.randn(4, 16),)
