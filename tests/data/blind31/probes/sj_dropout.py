"""spikingjelly layer.Dropout (train, single step): the dropout mask is drawn on the first call of a
simulation and kept (in its `_memories`) until reset()."""
import torch
from spikingjelly.activation_based import layer


def factory():
    torch.manual_seed(0)
    m = layer.Dropout(p=0.5, step_mode="s")
    m.train()
    return m, (torch.randn(4, 16),)
