"""torch.ao.quantization.FakeQuantize with its default MovingAverageMinMaxObserver (quint8,
per-tensor affine), train: observer and fake quantisation both enabled (QAT)."""
import torch
from torch.ao.quantization import FakeQuantize


def factory():
    torch.manual_seed(0)
    m = FakeQuantize()
    m.train()
    return m, (torch.randn(4, 16),)
