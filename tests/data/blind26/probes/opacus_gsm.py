"""opacus GradSampleModule over a small MLP: forward hooks (bound methods of the wrapper) capture
activations and count steps, but only when grad is enabled and the module trains."""
import torch
from torch import nn
from opacus import GradSampleModule


def factory():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    m = GradSampleModule(net)
    m.train()
    return m, (torch.randn(4, 16),)
