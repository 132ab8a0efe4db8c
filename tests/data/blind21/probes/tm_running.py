"""torchmetrics.wrappers.Running: a window of 3 copies of MeanSquaredError's states."""
import torch
from torchmetrics import MeanSquaredError
from torchmetrics.wrappers import Running


def factory():
    torch.manual_seed(0)
    m = Running(MeanSquaredError(), window=3)
    return m, (torch.randn(64), torch.randn(64))
