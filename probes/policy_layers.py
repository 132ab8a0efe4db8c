"""The Gemma towers of the pi0-shaped policy probe (language model and action expert) and the
pieces both towers share (config object, KV cache, attention functions), mirroring what the
openpi DuQuant fork (JingxuanZhang77/openpi_duquant) runs: its ``transformers_replace`` copy of
transformers' Gemma (``models/gemma/modeling_gemma.py``: ``GemmaRMSNorm`` returning
(x, gate), ``GemmaAttention`` that reads a passed cache without updating it when
``use_cache`` is False, ``GemmaModel`` with the embedding normaliser commented out) and
transformers' DynamicCache (the fork's ``cache_utils`` re-exports it). Module names follow
the fork's tree (``paligemma.model.language_model.layers.N.self_attn.q_proj``,
``...mlp.gate_proj``, ``gemma_expert.model.layers...``), so the fork's include/exclude regexes
select the same projections. Float32 throughout.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch
from torch import nn
import torch.nn.functional as F  # noqa: N812


@dataclasses.dataclass
class TowerConfig:
    """A plain, mutable config object (transformers' PretrainedConfig plays this part). Like a
    transformers model built without from_pretrained, attention starts as "sdpa"; the fork
    writes "eager" into it inside the compiled function on every call. As in transformers,
    ``_attn_implementation`` is a property that stores under ``_attn_implementation_internal``."""
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    _attn_implementation_internal: str = "sdpa"

    @property
    def _attn_implementation(self) -> str:
        return self._attn_implementation_internal

    @_attn_implementation.setter
    def _attn_implementation(self, value: str):
        self._attn_implementation_internal = value


class PrefixCache:
    """transformers' DynamicCache (the fork's cache_utils re-exports it), as far as pi0 uses it:
    per-layer key/value tensors appended by ``update`` in the prefix pass, read by index."""

    def __init__(self):
        self.key_cache: list[torch.Tensor] = []
        self.value_cache: list[torch.Tensor] = []

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        if len(self.key_cache) <= layer_idx:
            self.key_cache.append(key_states)
            self.value_cache.append(value_states)
        else:
            self.key_cache[layer_idx] = torch.cat([self.key_cache[layer_idx], key_states], -2)
            self.value_cache[layer_idx] = torch.cat([self.value_cache[layer_idx], value_states],
                                                    -2)
        return self.key_cache[layer_idx], self.value_cache[layer_idx]

    def __getitem__(self, layer_idx):
        return self.key_cache[layer_idx], self.value_cache[layer_idx]

    def __len__(self):
        return len(self.key_cache)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.key_cache[layer_idx].shape[-2] if len(self.key_cache) > layer_idx else 0


class ModelOutput(NamedTuple):  # BaseModelOutputWithPast, the two fields pi0 reads
    last_hidden_state: torch.Tensor
    past_key_values: PrefixCache | None


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    b, kv, s, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None].expand(b, kv, n_rep, s, d).reshape(b, kv * n_rep, s, d)


def eager_attention_forward(module, query, key, value, attention_mask, scaling):
    n_rep = module.num_key_value_groups
    key, value = repeat_kv(key, n_rep), repeat_kv(value, n_rep)
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask[:, :, :, : key.shape[-2]]
    weights = F.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    return torch.matmul(weights, value).transpose(1, 2).contiguous()


def sdpa_attention_forward(module, query, key, value, attention_mask, scaling):
    n_rep = module.num_key_value_groups
    key, value = repeat_kv(key, n_rep), repeat_kv(value, n_rep)
    mask = attention_mask[:, :, :, : key.shape[-2]] if attention_mask is not None else None
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scaling)
    return out.transpose(1, 2).contiguous()


ATTENTION_FUNCTIONS = {"eager": eager_attention_forward, "sdpa": sdpa_attention_forward}


def attention_interface(config: TowerConfig):
    return ATTENTION_FUNCTIONS[config._attn_implementation]  # noqa: SLF001


# --- Gemma (the fork's modeling_gemma): 7 wrapped projections per block ---------------------

class GemmaRMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.zeros(dim))

    def forward(self, x, cond=None):  # the fork's norm returns (x, gate); gate None without adaRMS
        var = torch.mean(torch.square(x.float()), dim=-1, keepdim=True)
        return (x * torch.rsqrt(var + self.eps) * (1.0 + self.weight.float())).to(x.dtype), None


class GemmaMLP(nn.Module):
    def __init__(self, config: TowerConfig):
        super().__init__()
        w, m = config.hidden_size, config.intermediate_size
        self.gate_proj, self.up_proj = nn.Linear(w, m, bias=False), nn.Linear(w, m, bias=False)
        self.down_proj = nn.Linear(m, w, bias=False)

    def forward(self, x):
        return self.down_proj(F.gelu(self.gate_proj(x), approximate="tanh") * self.up_proj(x))


class GemmaRotaryEmbedding(nn.Module):
    def __init__(self, config: TowerConfig):
        super().__init__()
        d = config.head_dim
        inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x, position_ids):
        freqs = (self.inv_freq[None, :, None].expand(position_ids.shape[0], -1, 1)
                 @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class GemmaAttention(nn.Module):
    def __init__(self, config: TowerConfig, layer_idx: int):
        super().__init__()
        self.config, self.layer_idx, self.head_dim = config, layer_idx, config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim**-0.5
        w, q, kv = (config.hidden_size, config.num_attention_heads * self.head_dim,
                    config.num_key_value_heads * self.head_dim)
        self.q_proj, self.k_proj = nn.Linear(w, q, bias=False), nn.Linear(w, kv, bias=False)
        self.v_proj, self.o_proj = nn.Linear(w, kv, bias=False), nn.Linear(q, w, bias=False)

    def forward(self, hidden_states, position_embeddings, attention_mask, past_key_value=None,
                use_cache=False):
        shape = (*hidden_states.shape[:-1], -1, self.head_dim)
        q = self.q_proj(hidden_states).view(shape).transpose(1, 2)
        k = self.k_proj(hidden_states).view(shape).transpose(1, 2)
        v = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        cos, sin = (t.unsqueeze(1) for t in position_embeddings)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past_key_value is not None:
            if use_cache:  # the prefix pass: append to the cache
                k, v = past_key_value.update(k, v, self.layer_idx)
            else:  # a denoise step: read the prefix cache, leave it as it is
                k = torch.cat([past_key_value[self.layer_idx][0], k], dim=2)
                v = torch.cat([past_key_value[self.layer_idx][1], v], dim=2)
        out = attention_interface(self.config)(self, q, k, v, attention_mask, self.scaling)
        return self.o_proj(out.reshape(*hidden_states.shape[:-1], -1))


class GemmaDecoderLayer(nn.Module):
    def __init__(self, config: TowerConfig, layer_idx: int):
        super().__init__()
        self.self_attn = GemmaAttention(config, layer_idx)
        self.mlp = GemmaMLP(config)
        self.input_layernorm = GemmaRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = GemmaRMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x, attention_mask, position_embeddings, past_key_value, use_cache):
        h, _ = self.input_layernorm(x)
        x = x + self.self_attn(h, position_embeddings, attention_mask, past_key_value, use_cache)
        h, _ = self.post_attention_layernorm(x)
        return x + self.mlp(h)


class GemmaModel(nn.Module):
    def __init__(self, config: TowerConfig, vocab: int | None):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(vocab, config.hidden_size) if vocab else None
        self.layers = nn.ModuleList(GemmaDecoderLayer(config, i)
                                    for i in range(config.num_hidden_layers))
        self.norm = GemmaRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = GemmaRotaryEmbedding(config)

    def forward(self, inputs_embeds, attention_mask, position_ids, past_key_values=None,
                use_cache=False):
        if use_cache and past_key_values is None:
            past_key_values = PrefixCache()  # created inside the call, as GemmaModel does
        hidden_states = inputs_embeds  # the fork comments out Gemma's sqrt(width) normaliser
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        for layer in self.layers[: self.config.num_hidden_layers]:
            hidden_states = layer(hidden_states, attention_mask, position_embeddings,
                                  past_key_values, use_cache)
        hidden_states, _ = self.norm(hidden_states)
        return ModelOutput(hidden_states, past_key_values if use_cache else None)
