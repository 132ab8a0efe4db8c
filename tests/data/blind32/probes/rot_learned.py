"""rotary-embedding-torch RotaryEmbedding(dim=8, learned_freq=True, cache_max_seq_len=64) applied to
queries (2, 2, 6, 16) via rotate_queries_or_keys, in a 4-line wrapper. With learned frequencies the
cache is never used (the `cached_freqs` buffer exists but stays zero): freqs are recomputed every call."""
import torch
from rotary_embedding_torch import RotaryEmbedding


class RotateQ(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rotary = RotaryEmbedding(dim=8, learned_freq=True, cache_max_seq_len=64)

    def forward(self, q):
        return self.rotary.rotate_queries_or_keys(q)


def factory():
    torch.manual_seed(0)
    return RotateQ(), (torch.randn(2, 2, 6, 16),)
