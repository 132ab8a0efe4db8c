"""nflows BatchNorm transform, training mode: running mean/var updated in place (BN-like statistics)."""
import torch
from nflows.transforms.normalization import BatchNorm


def factory():
    torch.manual_seed(0)
    m = BatchNorm(features=6, momentum=0.1)
    m.train()
    return m, (torch.randn(8, 6),)
