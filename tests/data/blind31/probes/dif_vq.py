"""diffusers VectorQuantizer (VQ-VAE codebook lookup, 16 codes of dim 8, beta 0.25, legacy loss),
eval: nearest-code search, commitment loss, straight-through estimator."""
import torch
from diffusers.models.autoencoders.vae import VectorQuantizer


def factory():
    torch.manual_seed(0)
    m = VectorQuantizer(n_e=16, vq_embed_dim=8, beta=0.25)
    m.eval()
    return m, (torch.randn(2, 8, 4, 4),)
