"""diffusers BasicTransformerBlock with Pyramid Attention Broadcast applied to its self-attention:
a hook object (HookRegistry + PyramidAttentionBroadcastHook) counting iterations and caching the
attention output, with a lambda as the timestep callback."""
import torch
from diffusers.hooks import PyramidAttentionBroadcastConfig, apply_pyramid_attention_broadcast
from diffusers.models.attention import BasicTransformerBlock


def factory():
    torch.manual_seed(0)
    m = BasicTransformerBlock(dim=32, num_attention_heads=2, attention_head_dim=16)
    m.eval()
    config = PyramidAttentionBroadcastConfig(
        spatial_attention_block_skip_range=2,
        spatial_attention_timestep_skip_range=(100, 800),
        spatial_attention_block_identifiers=("attn1",),
        current_timestep_callback=lambda: 500,
    )
    apply_pyramid_attention_broadcast(m, config)
    return m, (torch.randn(1, 8, 32),)
