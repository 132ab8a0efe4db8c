"""x-transformers Decoder with ALiBi positional bias (AlibiPositionalBias caches its bias)."""
import torch
from x_transformers import Decoder


def factory():
    torch.manual_seed(0)
    m = Decoder(dim=32, depth=2, heads=2, alibi_pos_bias=True)
    m.eval()
    return m, (torch.randn(1, 8, 32),)
