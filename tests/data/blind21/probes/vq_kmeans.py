"""vector-quantize-pytorch VectorQuantize, k-means init on the first call, EMA codebook (training)."""
import torch
from vector_quantize_pytorch import VectorQuantize


def factory():
    torch.manual_seed(0)
    m = VectorQuantize(dim=8, codebook_size=16, kmeans_init=True, kmeans_iters=2, decay=0.9)
    m.train()
    return m, (torch.randn(1, 16, 8),)
