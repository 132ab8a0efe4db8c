"""spikingjelly LIFNode, single-step: membrane potential `v` kept in the module's `_memories` dict
through MemoryModule.__setattr__/__getattr__, a float 0.0 until the first call."""
import torch
from spikingjelly.activation_based import neuron


def factory():
    torch.manual_seed(0)
    m = neuron.LIFNode(tau=2.0, step_mode="s")
    return m, (torch.randn(4, 16) * 2.0,)
