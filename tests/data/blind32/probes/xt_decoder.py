"""x-transformers Decoder(dim=16, depth=1, heads=2, rotary_pos_emb=True), eval, input (2, 6, 16):
a causal attention + feed-forward block with rotary positions."""
import torch
from x_transformers import Decoder


def factory():
    torch.manual_seed(0)
    m = Decoder(dim=16, depth=1, heads=2, rotary_pos_emb=True).eval()
    return m, (torch.randn(2, 6, 16),)
