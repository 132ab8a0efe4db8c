"""diffusers BasicTransformerBlock with the TaylorSeer cache applied to its self-attention `attn1`
(float32 Taylor factors, order 1, full compute on steps 0-1, then every 2nd step computed and the
others predicted from the stored Taylor factors), inside a cache context named "cond" as a
pipeline's denoising loop sets it (`model.cache_context("cond")` does the same)."""
import torch
from diffusers.hooks import TaylorSeerCacheConfig, apply_taylorseer_cache
from diffusers.hooks.hooks import CacheContext, _set_cache_context
from diffusers.models.attention import BasicTransformerBlock


def factory():
    torch.manual_seed(0)
    m = BasicTransformerBlock(dim=32, num_attention_heads=2, attention_head_dim=16)
    m.eval()
    config = TaylorSeerCacheConfig(cache_interval=2, disable_cache_before_step=2, max_order=1,
                                   taylor_factors_dtype=torch.float32, cache_identifiers=["attn1"])
    apply_taylorseer_cache(m, config)
    _set_cache_context(m, CacheContext("cond"))
    return m, (torch.randn(1, 8, 32),)
