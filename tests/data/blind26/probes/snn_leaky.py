"""snntorch Leaky LIF neuron keeping its membrane potential as module state (init_hidden=True),
with a factory-made surrogate gradient (surrogate.fast_sigmoid() returns a local closure `inner`)."""
import torch
import snntorch as snn
from snntorch import surrogate


def factory():
    torch.manual_seed(0)
    m = snn.Leaky(beta=0.9, init_hidden=True, spike_grad=surrogate.fast_sigmoid(slope=25))
    return m, (torch.randn(4, 16),)
