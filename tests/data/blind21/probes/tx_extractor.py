"""torchextractor Extractor: forward hooks that keep the latest output of two layers."""
import torch
from torch import nn
import torchextractor as tx


def factory():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    m = tx.Extractor(net, ["0", "2"])
    return m, (torch.randn(4, 16),)
