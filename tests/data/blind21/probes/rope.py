"""rotary-embedding-torch RotaryEmbedding.forward(positions, seq_len): cached frequencies."""
import torch
from rotary_embedding_torch import RotaryEmbedding


def factory():
    torch.manual_seed(0)
    m = RotaryEmbedding(dim=16, cache_max_seq_len=64)
    return m, (torch.arange(8).float(), 8)
