"""vector-quantize-pytorch VectorQuantize with an EMA codebook (decay 0.8) and k-means
initialisation (4 iterations) on the first training call, train: 16 codes of dim 8, one codebook.
Runs in /work/venv-b31 (torch 2.13.0 + vector-quantize-pytorch and its einops/einx deps)."""
import torch
from vector_quantize_pytorch import VectorQuantize


def factory():
    torch.manual_seed(0)
    m = VectorQuantize(dim=8, codebook_size=16, decay=0.8, kmeans_init=True, kmeans_iters=4)
    m.train()
    return m, (torch.randn(2, 16, 8),)
