"""The SigLIP vision tower of the pi0-shaped policy probe, mirroring transformers'
``modeling_siglip`` as PaliGemma's ``vision_tower.vision_model`` (the fork's
``transformers_replace`` keeps it): patch embedding (Conv2d), position embedding, encoder
layers of ``self_attn`` (q_proj, k_proj, v_proj, out_proj) and ``mlp`` (fc1, fc2), all six
wrapped by the fork, and ``post_layernorm``. Attention dispatches on the config's
``_attn_implementation``, which the fork never writes for the vision tower.
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F  # noqa: N812

from .policy_layers import TowerConfig, attention_interface


class SiglipAttention(nn.Module):
    def __init__(self, config: TowerConfig):
        super().__init__()
        self.config, w = config, config.hidden_size
        self.num_heads, self.head_dim = config.num_attention_heads, w // config.num_attention_heads
        self.num_key_value_groups, self.scaling = 1, self.head_dim**-0.5
        self.q_proj, self.k_proj = nn.Linear(w, w), nn.Linear(w, w)
        self.v_proj, self.out_proj = nn.Linear(w, w), nn.Linear(w, w)

    def forward(self, hidden_states):
        b, s, _ = hidden_states.shape
        shape = (b, s, self.num_heads, self.head_dim)
        q, k, v = (p(hidden_states).view(shape).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        out = attention_interface(self.config)(self, q, k, v, None, self.scaling)
        return self.out_proj(out.reshape(b, s, -1))


class SiglipMLP(nn.Module):
    def __init__(self, config: TowerConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SiglipEncoderLayer(nn.Module):
    def __init__(self, config: TowerConfig):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.self_attn = SiglipAttention(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = SiglipMLP(config)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class SiglipVisionModel(nn.Module):
    """vision_tower.vision_model: patch embedding (Conv2d), position embedding, encoder,
    post_layernorm (no pooling head: PaliGemma's vision_use_head is False)."""

    def __init__(self, config: TowerConfig, image_size: int, patch_size: int):
        super().__init__()
        self.config = config
        self.embeddings = nn.Module()
        self.embeddings.patch_embedding = nn.Conv2d(3, config.hidden_size, patch_size, patch_size)
        n = (image_size // patch_size) ** 2
        self.embeddings.position_embedding = nn.Embedding(n, config.hidden_size)
        self.embeddings.register_buffer("position_ids", torch.arange(n)[None], persistent=False)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(SiglipEncoderLayer(config)
                                            for _ in range(config.num_hidden_layers))
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, pixel_values):
        emb = self.embeddings
        x = emb.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        x = x + emb.position_embedding(emb.position_ids)
        for layer in self.encoder.layers:
            x = layer(x)
        return self.post_layernorm(x)
