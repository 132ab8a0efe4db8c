"""vector-quantize-pytorch ResidualVQ with affine_param (batch/codebook statistics), training."""
import torch
from vector_quantize_pytorch import ResidualVQ


def factory():
    torch.manual_seed(0)
    m = ResidualVQ(dim=8, num_quantizers=2, codebook_size=16, affine_param=True, decay=0.9)
    m.train()
    return m, (torch.randn(1, 16, 8),)
