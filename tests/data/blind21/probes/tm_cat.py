"""torchmetrics.aggregation.CatMetric: a list state that grows by one tensor per forward."""
import torch
from torchmetrics.aggregation import CatMetric


def factory():
    torch.manual_seed(0)
    m = CatMetric()
    return m, (torch.randn(16),)
