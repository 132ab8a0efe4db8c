"""torchmetrics MeanMetric (default nan_strategy="warn") called as a module: running weighted mean
state (mean_value, weight) accumulated by forward."""
import torch
from torchmetrics.aggregation import MeanMetric


def factory():
    torch.manual_seed(0)
    m = MeanMetric()
    return m, (torch.randn(4, 8),)
