"""snntorch Synaptic (2nd-order LIF) neuron keeping synaptic current and membrane potential as
module state (init_hidden=True)."""
import torch
import snntorch as snn


def factory():
    torch.manual_seed(0)
    m = snn.Synaptic(alpha=0.8, beta=0.9, init_hidden=True)
    return m, (torch.randn(4, 16),)
