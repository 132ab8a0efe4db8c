"""rotary-embedding-torch RotaryEmbedding(dim=8, cache_max_seq_len=64) applied to queries (2, 2, 6, 16)
via rotate_queries_or_keys, in a 4-line wrapper (as an attention layer calls it). The freqs are
cached in a pre-allocated buffer on the first call; later calls of the same length return the cache."""
import torch
from rotary_embedding_torch import RotaryEmbedding


class RotateQ(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rotary = RotaryEmbedding(dim=8, cache_max_seq_len=64)

    def forward(self, q):
        return self.rotary.rotate_queries_or_keys(q)


def factory():
    torch.manual_seed(0)
    return RotateQ(), (torch.randn(2, 2, 6, 16),)
