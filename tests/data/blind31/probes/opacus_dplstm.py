"""opacus.layers.DPLSTM(8, 16, batch_first=True): an LSTM built from Linear cells (for per-sample
gradients), called without an initial state on a (2, 3, 8) sequence."""
import torch
from opacus.layers import DPLSTM


def factory():
    torch.manual_seed(0)
    m = DPLSTM(8, 16, num_layers=1, batch_first=True)
    return m, (torch.randn(2, 3, 8),)
