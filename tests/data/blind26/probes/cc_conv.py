"""cached_conv (ACIDS streaming convolutions) CachedConv1d, causal: the padding cache of the
previous chunk is a buffer created on the first call and copied into every call."""
import torch
import cached_conv as cc


def factory():
    torch.manual_seed(0)
    m = cc.CachedConv1d(2, 4, kernel_size=5, padding=(4, 0))
    return m, (torch.randn(1, 2, 32),)
