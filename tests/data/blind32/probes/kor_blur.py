"""kornia.filters.GaussianBlur2d((3, 3), (1.5, 1.5)) on a (2, 3, 8, 8) batch: a fixed filter."""
import torch
from kornia.filters import GaussianBlur2d


def factory():
    torch.manual_seed(0)
    return GaussianBlur2d((3, 3), (1.5, 1.5)), (torch.rand(2, 3, 8, 8),)
