"""The pi0-shaped policy module of the POLICY probe (probes/policy.py builds it).

Mirrors the openpi DuQuant fork (JingxuanZhang77/openpi_duquant) in structure and names:
- ``src/openpi/models_pytorch/pi0_pytorch.py``: ``PI0Pytorch.embed_prefix`` (a Python loop
  over the cameras, ``embed_image`` each, then the language embedding times sqrt(width)),
  ``embed_suffix`` (pi0, not pi05: ``state_proj``, sinusoidal time embedding in float64,
  ``action_in_proj``, ``action_time_mlp_in/out``), ``_sample_actions_impl`` (the write
  ``...language_model.config._attn_implementation = "eager"``, the prefix pass with
  ``use_cache=True`` returning ``past_key_values``, ``for _ in range(num_steps)`` with
  ``denoise_step`` and the Euler update) and ``denoise_step`` (the expert's config write, the
  suffix pass over the prefix cache with ``use_cache=False``: the cache is read, never updated;
  ``action_out_proj``), ``make_att_2d_masks``, ``_prepare_attention_masks_4d``,
  ``_apply_checkpoint``;
- ``gemma_pytorch.py``'s ``PaliGemmaWithExpertModel`` (``embed_image``,
  ``embed_language_tokens``, the prefix-only and suffix-only branches of ``forward``);
``forward`` does exactly ``_sample_actions_impl`` (the fork compiles that bound method;
compilecheck compiles the module). Calling it under ``torch.no_grad()``, as the fork's
``sample_actions`` does, is the caller's job.
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F  # noqa: N812

from .policy_layers import GemmaModel, TowerConfig
from .policy_sizes import PolicySize
from .policy_vision import SiglipVisionModel


def make_att_2d_masks(pad_masks, att_masks):
    cumsum = torch.cumsum(att_masks, dim=1)
    att_2d_masks = cumsum[:, None, :] <= cumsum[:, :, None]
    return att_2d_masks & (pad_masks[:, None, :] * pad_masks[:, :, None])


def create_sinusoidal_pos_embedding(time, dimension, min_period, max_period, device):
    fraction = torch.linspace(0.0, 1.0, dimension // 2, dtype=torch.float64, device=device)
    period = min_period * (max_period / min_period) ** fraction
    sin_input = (1.0 / period * 2 * math.pi)[None, :] * time[:, None]
    return torch.cat([torch.sin(sin_input), torch.cos(sin_input)], dim=1)


class PaliGemma(nn.Module):
    """PaliGemmaForConditionalGeneration as pi0 uses it (its lm_head is left out: unused)."""

    def __init__(self, size: PolicySize):
        super().__init__()
        vision = TowerConfig(size.vision_width, size.vision_mlp, size.vision_blocks,
                             size.vision_heads, size.vision_heads,
                             size.vision_width // size.vision_heads)
        text = TowerConfig(size.lm_width, size.lm_mlp, size.lm_blocks, size.heads,
                           size.kv_heads, size.head_dim)
        self.model = nn.Module()
        if size.images:  # no cameras (a size without the image tower): no tower to build
            self.model.vision_tower = nn.Module()
            self.model.vision_tower.vision_model = SiglipVisionModel(vision, size.image_size,
                                                                     size.patch_size)
            self.model.multi_modal_projector = nn.Module()
            self.model.multi_modal_projector.linear = nn.Linear(size.vision_width,
                                                                size.lm_width)
        self.model.language_model = GemmaModel(text, size.vocab)

    @property
    def language_model(self) -> GemmaModel:
        return self.model.language_model

    def get_image_features(self, pixel_values):
        features = self.model.vision_tower.vision_model(pixel_values)
        features = self.model.multi_modal_projector.linear(features)
        return features / (self.language_model.config.hidden_size**0.5)


class PaliGemmaWithExpertModel(nn.Module):
    def __init__(self, size: PolicySize):
        super().__init__()
        self.paligemma = PaliGemma(size)
        expert = TowerConfig(size.expert_width, size.expert_mlp, size.expert_blocks, size.heads,
                             size.kv_heads, size.head_dim)
        self.gemma_expert = nn.Module()  # GemmaForCausalLM: its lm_head is left out (unused)
        self.gemma_expert.model = GemmaModel(expert, None)  # embed_tokens = None, as the fork

    def embed_image(self, image):
        return self.paligemma.get_image_features(image)

    def embed_language_tokens(self, tokens):
        return self.paligemma.language_model.embed_tokens(tokens)

    def forward(self, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=None, adarms_cond=None):
        if inputs_embeds[1] is None:
            out = self.paligemma.language_model.forward(inputs_embeds[0], attention_mask,
                                                        position_ids, past_key_values, use_cache)
            return [out.last_hidden_state, None], out.past_key_values
        if inputs_embeds[0] is None:
            out = self.gemma_expert.model.forward(inputs_embeds[1], attention_mask, position_ids,
                                                  past_key_values, use_cache)
            return [None, out.last_hidden_state], None
        raise NotImplementedError("the joint (training) pass of both towers is not mirrored")


class PI0Policy(nn.Module):
    """PI0Pytorch (pi0, not pi05) at a PolicySize; ``forward`` samples actions."""

    def __init__(self, size: PolicySize):
        super().__init__()
        self.config = size  # the fork reads config.action_horizon
        self.pi05 = False
        self.num_steps = size.num_steps
        self.paligemma_with_expert = PaliGemmaWithExpertModel(size)
        w = size.expert_width
        self.action_in_proj = nn.Linear(size.action_dim, w)
        self.action_out_proj = nn.Linear(w, size.action_dim)
        self.state_proj = nn.Linear(size.action_dim, w)
        self.action_time_mlp_in = nn.Linear(2 * w, w)
        self.action_time_mlp_out = nn.Linear(w, w)
        self.gradient_checkpointing_enabled = False

    def _apply_checkpoint(self, func, *args):
        if self.gradient_checkpointing_enabled and self.training:
            return torch.utils.checkpoint.checkpoint(func, *args, use_reentrant=False)
        return func(*args)

    def _prepare_attention_masks_4d(self, att_2d_masks):
        return torch.where(att_2d_masks[:, None, :, :], 0.0, -2.3819763e38)

    def embed_prefix(self, images, img_masks, lang_tokens, lang_masks):
        embs, pad_masks, att_masks = [], [], []
        for img, img_mask in zip(images, img_masks, strict=True):
            img_emb = self._apply_checkpoint(self.paligemma_with_expert.embed_image, img)
            bsize, num_img_embs = img_emb.shape[:2]
            embs.append(img_emb)
            pad_masks.append(img_mask[:, None].expand(bsize, num_img_embs))
            att_masks += [0] * num_img_embs

        def lang_embed_func(lang_tokens):
            lang_emb = self.paligemma_with_expert.embed_language_tokens(lang_tokens)
            return lang_emb * math.sqrt(lang_emb.shape[-1])

        lang_emb = self._apply_checkpoint(lang_embed_func, lang_tokens)
        embs.append(lang_emb)
        pad_masks.append(lang_masks)
        att_masks += [0] * lang_emb.shape[1]
        embs, pad_masks = torch.cat(embs, dim=1), torch.cat(pad_masks, dim=1)
        att_masks = torch.tensor(att_masks, dtype=torch.bool, device=pad_masks.device)
        return embs, pad_masks, att_masks[None, :].expand(pad_masks.shape[0], len(att_masks))

    def embed_suffix(self, state, noisy_actions, timestep):
        if self.state_proj.weight.dtype == torch.float32:
            state = state.to(torch.float32)
        state_emb = self._apply_checkpoint(self.state_proj, state)
        bsize, device = state_emb.shape[0], state_emb.device
        embs, pad_masks = [state_emb[:, None, :]], [torch.ones(bsize, 1, dtype=torch.bool,
                                                               device=device)]
        att_masks = [1]
        time_emb = create_sinusoidal_pos_embedding(timestep, self.action_in_proj.out_features,
                                                   4e-3, 4.0, timestep.device)
        time_emb = time_emb.type(dtype=timestep.dtype)
        action_emb = self._apply_checkpoint(self.action_in_proj, noisy_actions)
        time_emb = time_emb[:, None, :].expand_as(action_emb)

        def mlp_func(action_time_emb):
            return self.action_time_mlp_out(F.silu(self.action_time_mlp_in(action_time_emb)))

        action_time_emb = self._apply_checkpoint(mlp_func, torch.cat([action_emb, time_emb], 2))
        embs.append(action_time_emb)
        bsize, action_time_dim = action_time_emb.shape[:2]
        pad_masks.append(torch.ones(bsize, action_time_dim, dtype=torch.bool, device=device))
        att_masks += [1] + [0] * (self.config.action_horizon - 1)
        embs, pad_masks = torch.cat(embs, dim=1), torch.cat(pad_masks, dim=1)
        att_masks = torch.tensor(att_masks, dtype=embs.dtype, device=embs.device)
        return embs, pad_masks, att_masks[None, :].expand(bsize, len(att_masks)), None

    def forward(self, images, img_masks, lang_tokens, lang_masks, state, noise):
        return self._sample_actions_impl(noise.device, tuple(images), tuple(img_masks),
                                         lang_tokens, lang_masks, state, noise, self.num_steps)

    def _sample_actions_impl(self, device, images, img_masks, lang_tokens, lang_masks, state,
                             noise, num_steps):
        bsize = state.shape[0]
        prefix_embs, prefix_pad_masks, prefix_att_masks = self.embed_prefix(
            images, img_masks, lang_tokens, lang_masks)
        prefix_att_2d_masks = make_att_2d_masks(prefix_pad_masks, prefix_att_masks)
        prefix_position_ids = torch.cumsum(prefix_pad_masks, dim=1) - 1
        prefix_att_2d_masks_4d = self._prepare_attention_masks_4d(prefix_att_2d_masks)
        self.paligemma_with_expert.paligemma.language_model.config._attn_implementation = "eager"
        _, past_key_values = self.paligemma_with_expert.forward(
            attention_mask=prefix_att_2d_masks_4d, position_ids=prefix_position_ids,
            past_key_values=None, inputs_embeds=[prefix_embs, None], use_cache=True)
        dt = torch.tensor(-1.0 / num_steps, dtype=torch.float32, device=device)
        x_t = noise
        time = torch.tensor(1.0, dtype=torch.float32, device=device)
        for _ in range(num_steps):
            expanded_time = time.expand(bsize)
            v_t = self.denoise_step(state, prefix_pad_masks, past_key_values, x_t, expanded_time)
            x_t = x_t + dt * v_t  # Euler step
            time = time + dt
        return x_t

    def denoise_step(self, state, prefix_pad_masks, past_key_values, x_t, timestep):
        suffix_embs, suffix_pad_masks, suffix_att_masks, adarms_cond = self.embed_suffix(
            state, x_t, timestep)
        suffix_len = suffix_pad_masks.shape[1]
        batch_size, prefix_len = prefix_pad_masks.shape[0], prefix_pad_masks.shape[1]
        prefix_pad_2d_masks = prefix_pad_masks[:, None, :].expand(batch_size, suffix_len,
                                                                  prefix_len)
        suffix_att_2d_masks = make_att_2d_masks(suffix_pad_masks, suffix_att_masks)
        full_att_2d_masks = torch.cat([prefix_pad_2d_masks, suffix_att_2d_masks], dim=2)
        prefix_offsets = torch.sum(prefix_pad_masks, dim=-1)[:, None]
        position_ids = prefix_offsets + torch.cumsum(suffix_pad_masks, dim=1) - 1
        full_att_2d_masks_4d = self._prepare_attention_masks_4d(full_att_2d_masks)
        self.paligemma_with_expert.gemma_expert.model.config._attn_implementation = "eager"
        outputs_embeds, _ = self.paligemma_with_expert.forward(
            attention_mask=full_att_2d_masks_4d, position_ids=position_ids,
            past_key_values=past_key_values, inputs_embeds=[None, suffix_embs], use_cache=False,
            adarms_cond=[None, adarms_cond])
        suffix_out = outputs_embeds[1][:, -self.config.action_horizon:].to(dtype=torch.float32)
        return self.action_out_proj(suffix_out)
