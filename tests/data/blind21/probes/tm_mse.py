"""torchmetrics.MeanSquaredError called as a module (Metric.forward: batch value + accumulate)."""
import torch
from torchmetrics import MeanSquaredError


def factory():
    torch.manual_seed(0)
    m = MeanSquaredError()
    return m, (torch.randn(64), torch.randn(64))
