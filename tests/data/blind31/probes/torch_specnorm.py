"""torch.nn.utils.spectral_norm on a Linear(16, 8), train: a forward pre-hook runs one power
iteration (u, v updated in place) and recomputes weight = weight_orig / sigma every call."""
import torch


def factory():
    torch.manual_seed(0)
    m = torch.nn.utils.spectral_norm(torch.nn.Linear(16, 8))
    m.train()
    return m, (torch.randn(4, 16),)
