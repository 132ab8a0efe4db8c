"""spikingjelly ParametricLIFNode (learnable tau) in multi-step mode (T=4 time steps per call),
store_v_seq=True: keeps the last membrane potential across calls and the voltage sequence of the
last call."""
import torch
from spikingjelly.activation_based import neuron


def factory():
    torch.manual_seed(0)
    m = neuron.ParametricLIFNode(init_tau=2.0, step_mode="m", store_v_seq=True)
    return m, (torch.randn(4, 2, 8),)
