"""brevitas QuantReLU (uint8 per-tensor activation quantiser), training mode: the scale is collected
from runtime statistics for the first collect_stats_steps calls (a Python step counter + a buffer)."""
import torch
import brevitas.nn as qnn


def factory():
    torch.manual_seed(0)
    m = qnn.QuantReLU()
    m.train()
    return m, (torch.randn(4, 16),)
