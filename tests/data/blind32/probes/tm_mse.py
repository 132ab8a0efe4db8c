"""torchmetrics MeanSquaredError called as a module: forward = update on the batch + compute of the
batch value + reduction into the running (global) state (sum_squared_error, total)."""
import torch
from torchmetrics.regression import MeanSquaredError


def factory():
    torch.manual_seed(0)
    m = MeanSquaredError()
    return m, (torch.randn(4, 8), torch.randn(4, 8))
