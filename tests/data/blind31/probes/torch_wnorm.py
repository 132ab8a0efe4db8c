"""torch.nn.utils.parametrizations.weight_norm on a Linear(16, 8): weight is a parametrization
(computed from original0/original1 on every access; nothing cached)."""
import torch
from torch.nn.utils.parametrizations import weight_norm


def factory():
    torch.manual_seed(0)
    m = weight_norm(torch.nn.Linear(16, 8))
    return m, (torch.randn(4, 16),)
