"""The DuQuant layer as the openpi fork ships it today (its duquant_layers.py): what forward
really writes to module state, call by call (shared/REFERENCE.md section 3).

- the rotation dicts ``_R_in_cache_dict`` / ``_R_out_cache_dict``: created on the first call,
  refilled (with the same buffers) on every call;
- a calibrator object: fed on the first call (``_seen`` += 1, ``_p_running`` replaced, kept on
  the CPU); the single-batch fallback then sets the scale on that same first call;
- ``_act_scale`` (a registered buffer that starts as None) assigned a tensor computed in
  forward, with ``.clone()``, and the ``_act_scale_initialized`` flag;
- the weight cache built inside forward on the first call: per-block transform of the weight,
  ``copy_`` into the buffers ``_W_t``, ``_w_scales``, ``_W_t_quantized``, the cache key
  ``_cached_weight_key`` (device, dtype, bits) and ``_weight_quantized_cached``.

Like the fork, activations are fake-quantised whenever abits > 0: ABITS=16 still computes and
assigns the activation scale in forward (at 16 bits).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import DuQuantConfig
from .duquant import (apply_blocks, block_rotations, checked_shape, fake_quant, qmax,
                      weight_scales, zigzag_permutation)


class PercentileCalibrator:
    """The fork's calibrator: a running per-channel percentile over up to ``max_batches``
    inputs, kept on the CPU."""

    def __init__(self, percentile: float, max_batches: int):
        self.percentile = percentile
        self.max_batches = max_batches
        self._seen = 0
        self._p_running = None

    def observe(self, x: torch.Tensor) -> None:
        if self._seen >= self.max_batches:
            return
        x2d = x.detach().float().abs().reshape(-1, x.shape[-1])
        q = torch.quantile(x2d, self.percentile / 100.0, dim=0).clamp(min=1e-6).cpu()
        self._p_running = q if self._p_running is None else torch.maximum(self._p_running, q)
        self._seen += 1

    def is_full(self) -> bool:
        return self._seen >= self.max_batches

    def finalize(self) -> torch.Tensor:
        return self._p_running if self._p_running is not None else torch.tensor([1.0])


class DeployedDuQuantLinear(nn.Module):
    variant = "deployed"

    def __init__(self, linear: nn.Linear, config: DuQuantConfig):
        super().__init__()
        out_f, in_f = checked_shape(linear, config)
        self.config = config
        self.in_features, self.out_features = in_f, out_f
        self.bias = nn.Parameter(linear.bias.detach().float().clone()) \
            if linear.bias is not None else None
        self.register_buffer("_weight", linear.weight.detach().float().clone())
        w = self._weight
        perm = zigzag_permutation(w, config.block, config.ls) if config.permute \
            else torch.arange(in_f)
        r_in = block_rotations(w[:, perm], config.block)
        r_out = block_rotations(apply_blocks(w[:, perm], r_in).t(), config.block) \
            if config.row_rot == "restore" else None
        self.register_buffer("_perm_cache", perm)
        self._R_in_block_indices = list(range(len(r_in)))
        for b, rot in enumerate(r_in):
            self.register_buffer(f"_R_in_{b}", rot.clone())
        self._R_out_block_indices = list(range(len(r_out))) if r_out is not None else []
        for b in self._R_out_block_indices:
            self.register_buffer(f"_R_out_{b}", r_out[b].clone())
        self.calibrator = PercentileCalibrator(config.act_pct, config.calib_steps) \
            if config.abits > 0 else None
        self.register_buffer("_act_scale", None)
        self._act_scale_initialized = False
        self._cached_weight_key = None
        self.register_buffer("_W_t", torch.zeros_like(w))
        self.register_buffer("_w_scales", torch.ones(out_f))
        self.register_buffer("_W_t_quantized", torch.zeros_like(w))
        self._weight_quantized_cached = False
        self._bias_rot = None

    # the fork keeps its rotation buffers in dicts, created on first use, refilled every call
    def _get_R_in_cache(self) -> dict:
        if not hasattr(self, "_R_in_cache_dict"):
            self._R_in_cache_dict = {}
        for b in self._R_in_block_indices:
            self._R_in_cache_dict[b] = getattr(self, f"_R_in_{b}")
        return self._R_in_cache_dict

    def _get_R_out_cache(self) -> dict:
        if not hasattr(self, "_R_out_cache_dict"):
            self._R_out_cache_dict = {}
        for b in self._R_out_block_indices:
            self._R_out_cache_dict[b] = getattr(self, f"_R_out_{b}")
        return self._R_out_cache_dict

    def _maybe_update_weight_cache(self) -> None:
        """The transformed, quantised weight, built inside forward on the first call."""
        bits, block = self.config.wbits, self.config.block
        key = (str(self._weight.device), self._weight.dtype, int(bits), 1)
        if self._cached_weight_key == key:
            return
        r_in, r_out = self._get_R_in_cache(), self._get_R_out_cache()
        w = self._weight.index_select(1, self._perm_cache)
        w_rot = w.clone()
        for b in self._R_in_block_indices:  # per block, as the fork does
            s = b * block
            w_rot[:, s:s + block] = w[:, s:s + block] @ r_in[b]
        if r_out:
            w_in = w_rot
            w_rot = w_in.clone()
            for b in self._R_out_block_indices:
                s = b * block
                w_rot[s:s + block, :] = r_out[b].t() @ w_in[s:s + block, :]
        scales = weight_scales(w_rot, bits)
        self._W_t.copy_(w_rot)
        self._w_scales.copy_(scales[:, 0])
        with torch.no_grad():
            self._W_t_quantized.copy_(fake_quant(w_rot, scales, bits))
        self._weight_quantized_cached = True
        self._cached_weight_key = key
        self._bias_rot = None  # row_rot "restore": the bias is added after the restore

    def _get_act_scale(self, x: torch.Tensor) -> torch.Tensor:
        if self._act_scale_initialized:
            return self._act_scale
        q = qmax(self.config.abits)
        with torch.no_grad():
            if self.calibrator is not None and not self.calibrator.is_full():
                self.calibrator.observe(x)
                if self.calibrator.is_full():
                    scale = torch.clamp(self.calibrator.finalize() / q, min=1e-6)
                    self._set_act_scale(scale.to(dtype=x.dtype, device=x.device).clone())
            if not self._act_scale_initialized:  # the single-batch fallback
                x2d = x.detach().float().abs().reshape(-1, x.shape[-1])
                p = torch.quantile(x2d, self.config.act_pct / 100.0, dim=0)
                scale = torch.clamp(p / q, min=1e-6)
                self._set_act_scale(scale.to(dtype=x.dtype, device=x.device).clone())
        return self._act_scale

    def _set_act_scale(self, scale: torch.Tensor) -> None:
        if self._act_scale is None:
            self._act_scale = scale
        else:
            self._act_scale.copy_(scale)
        self._act_scale_initialized = True

    def _rotations(self, cache: dict, indices: list) -> torch.Tensor:
        return torch.stack([cache[b] for b in indices])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_t = x.index_select(-1, self._perm_cache)
        x_t = apply_blocks(x_t, self._rotations(self._get_R_in_cache(), self._R_in_block_indices))
        if self.config.abits > 0:
            x_t = fake_quant(x_t, self._get_act_scale(x_t), self.config.abits)
        self._maybe_update_weight_cache()
        if self._weight_quantized_cached:
            y = nn.functional.linear(x_t, self._W_t_quantized)
        else:
            y = nn.functional.linear(
                x_t, fake_quant(self._W_t, self._w_scales[:, None], self.config.wbits))
        if self._R_out_block_indices:
            r_out = self._rotations(self._get_R_out_cache(), self._R_out_block_indices)
            y = apply_blocks(y, r_out.transpose(1, 2))
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        c = self.config
        return (f"{self.in_features}->{self.out_features}, W{c.wbits}A{c.abits}, "
                f"block={c.block}, variant=deployed (the fork's current forward)")
