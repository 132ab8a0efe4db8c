"""The DuQuant W4A8 fake-quant linear layer, as deployed in the openpi fork, in four variants.

What the layer computes (facts in shared/REFERENCE.md section 3), for an input row x:

    x' = x P R_in                    permute input channels (zigzag), rotate each block
    W' = R_out^T (W P R_in)          the same transform on the weight, plus an output rotation
    y  = Q_a(x') Q_w(W')^T R_out^T   fake-quantised matmul; R_out is undone afterwards ("restore")

Since P and the block rotations are orthogonal, without quantisation y == x W^T exactly.

The variants differ ONLY in how the static activation scale comes to exist, because that is
what decides whether ``torch.compile`` (and CUDA graphs above all) survives:

- ``lazy``: computed on the first forward and assigned to a plain attribute (the original
  layer). Under compile this is module state assigned inside the compiled region.
- ``buffer-clone``: a registered buffer that starts as None, ``.clone()`` of the scale and an
  ``_act_scale_initialized`` flag (the hand-written "full fix"). Still an assignment inside
  the compiled region: the clone is itself a graph output.
- ``calibrated``: ``calibrate(batches)`` runs before compiling; forward only reads a frozen
  buffer. Nothing is assigned inside the compiled region.
- ``weight-only``: the deployed (buffer-clone) layer with abits 16: no activation scale at all.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import DuQuantConfig

ALPHAS = (0.5, 0.75, 1.0, 1.25, 1.5)
QUANTILE_MAX = 2**24  # torch.quantile refuses a reduced dimension longer than this


def qmax(bits: int) -> int:
    return 2 ** (bits - 1) - 1


def zigzag_permutation(weight: torch.Tensor, block: int, ls: float) -> torch.Tensor:
    """Input-channel order that gives every block a balanced share of the outlier channels.

    Channel energy is mean(W**2) over output rows, smoothed towards its mean with ``ls``
    (so a single huge channel does not dominate the ordering). Channels are sorted by energy,
    descending, and dealt to the blocks in zigzag order (0, 1, ..., B-1, B-1, ..., 0, 0, ...),
    as DuQuant's zigzag permutation does: each block receives one channel from every tier.
    """
    n = weight.shape[1]
    energy = weight.double().pow(2).mean(dim=0)
    energy = (1.0 - ls) * energy + ls * energy.mean()
    order = torch.argsort(energy, descending=True, stable=True)
    n_blocks = n // block
    slots: list[list[int]] = [[] for _ in range(n_blocks)]
    for rank, channel in enumerate(order.tolist()):
        lap, pos = divmod(rank, n_blocks)
        slots[pos if lap % 2 == 0 else n_blocks - 1 - pos].append(channel)
    return torch.tensor([c for s in slots for c in s], dtype=torch.long)


def greedy_rotation(block_cols: torch.Tensor, steps: int = 4) -> torch.Tensor:
    """One orthogonal matrix for one block, built greedily from its outlier channels.

    Chosen over an SVD basis on purpose: an SVD rotation concentrates a block's energy in its
    leading directions, which makes the per-row maximum (and so the 4-bit step) larger, while
    DuQuant's point is to spread outliers out. Each greedy step takes the channel with the
    largest energy and applies the Householder reflection that maps it onto the uniform
    direction (1, ..., 1)/sqrt(b), spreading that channel evenly over the block; a step is
    kept only when it lowers the block's largest channel magnitude. ``block_cols`` is
    (rows, b); the result R (b, b) is applied as ``block_cols @ R``.
    """
    cols = block_cols.double()
    b = cols.shape[1]
    rot = torch.eye(b, dtype=torch.float64)
    if b == 1:
        return rot.float()
    uniform = torch.full((b,), 1.0 / math.sqrt(b), dtype=torch.float64)
    for _ in range(steps):
        current = cols @ rot
        peak = current.abs().amax(dim=0)
        j = int(torch.argmax(current.pow(2).sum(dim=0)))
        e = torch.zeros(b, dtype=torch.float64)
        e[j] = 1.0
        v = e - uniform
        if float(v.norm()) < 1e-12:
            break
        v = v / v.norm()
        house = torch.eye(b, dtype=torch.float64) - 2.0 * torch.outer(v, v)
        candidate = rot @ house
        if float((cols @ candidate).abs().amax()) >= float(peak.amax()):
            break
        rot = candidate
    return rot.float()


def block_rotations(matrix: torch.Tensor, block: int) -> torch.Tensor:
    """(n_blocks, block, block) greedy rotations for the column blocks of ``matrix``."""
    n = matrix.shape[1]
    return torch.stack([greedy_rotation(matrix[:, i : i + block]) for i in range(0, n, block)])


def apply_blocks(x: torch.Tensor, rots: torch.Tensor) -> torch.Tensor:
    """x (..., n) @ blockdiag(rots): each block of columns times its own rotation."""
    nb, b, _ = rots.shape
    return torch.einsum("tkb,kbc->tkc", x.reshape(-1, nb, b), rots).reshape(x.shape)


def weight_scales(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-row scales (rows, 1): the one of max|w|/qmax/alpha with the least squared
    error over the alpha grid (the first one on a tie)."""
    q = qmax(bits)
    amax = w.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
    scales = torch.cat([amax / q / alpha for alpha in ALPHAS], dim=1)  # (rows, alphas)
    wq = fake_quant(w[:, None, :], scales[:, :, None], bits)
    best = (wq - w[:, None, :]).pow(2).sum(dim=2).argmin(dim=1)
    return scales.gather(1, best[:, None])


def fake_quant(x: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric fake quantisation: round(x / scale) clamped to [-qmax-1, qmax], times scale."""
    q = qmax(bits)
    return torch.clamp(torch.round(x / scale), -q - 1, q) * scale


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-output-row fake quant; each row's scale by MSE over max|w|/qmax/alpha."""
    return fake_quant(w, weight_scales(w, bits), bits)


def activation_scale(x: torch.Tensor, pct: float, bits: int) -> torch.Tensor:
    """Static per-channel scale: quantile(|x|, pct) over tokens / qmax."""
    flat = x.reshape(-1, x.shape[-1]).abs().float()
    if flat.shape[0] > QUANTILE_MAX:  # calibrating over many tokens: subsample evenly
        flat = flat[:: math.ceil(flat.shape[0] / QUANTILE_MAX)]
    return (torch.quantile(flat, pct / 100.0, dim=0) / qmax(bits)).clamp_min(1e-8)


def fake_quant_activation(x: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    return fake_quant(x, scale, bits)


def checked_shape(linear: nn.Linear, config: DuQuantConfig) -> tuple[int, int]:
    """(out, in) of ``linear``, both multiples of the config's block, or ValueError."""
    config.validate()
    out_f, in_f = linear.weight.shape
    for what, n in (("in_features", in_f), ("out_features", out_f)):
        if n % config.block:
            raise ValueError(f"{what}={n} is not a multiple of block={config.block}")
    return out_f, in_f


class DuQuantLinear(nn.Module):
    """Shared mathematics of every variant; subclasses decide where the scale comes from."""

    variant = "base"

    def __init__(self, linear: nn.Linear, config: DuQuantConfig):
        super().__init__()
        self.out_features, self.in_features = checked_shape(linear, config)
        self.config = config
        in_f = self.in_features
        w = linear.weight.detach().float()
        perm = (
            zigzag_permutation(w, config.block, config.ls)
            if config.permute
            else torch.arange(in_f)
        )
        w = w[:, perm]
        r_in = block_rotations(w, config.block)
        w = apply_blocks(w, r_in)
        if config.row_rot == "restore":
            r_out = block_rotations(w.t(), config.block)  # rotates output rows
            w = apply_blocks(w.t(), r_out).t()
        else:
            r_out = None
        self.register_buffer("perm", perm)
        self.register_buffer("r_in", r_in)
        self.register_buffer("r_out", r_out)
        # The deployed layer caches the quantised weight on first use; here every variant
        # computes it up front so the variants differ only in the activation scale.
        self.register_buffer("weight_q", fake_quant_weight(w, config.wbits))
        bias = linear.bias.detach().float().clone() if linear.bias is not None else None
        self.register_buffer("bias", bias)

    def transform_input(self, x: torch.Tensor) -> torch.Tensor:
        return apply_blocks(x[..., self.perm], self.r_in)

    def compute_scale(self, x_rot: torch.Tensor) -> torch.Tensor:
        return activation_scale(x_rot, self.config.act_pct, self.config.abits)

    def quantized_matmul(self, x_rot: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        if scale is not None:
            x_rot = fake_quant_activation(x_rot, scale, self.config.abits)
        y = x_rot @ self.weight_q.t()
        if self.r_out is not None:
            y = apply_blocks(y, self.r_out.transpose(1, 2))  # restore the output rotation
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"{self.in_features}->{self.out_features}, W{c.wbits}A{c.abits}, block={c.block}, "
            f"permute={c.permute}, row_rot={c.row_rot}, variant={self.variant}"
        )


class LazyDuQuantLinear(DuQuantLinear):
    """The original layer: the scale is assigned to a plain attribute on the first forward."""

    variant = "lazy"

    def __init__(self, linear, config):
        super().__init__(linear, config)
        self._act_scale = None

    def forward(self, x):
        x_rot = self.transform_input(x)
        if self.config.quantize_activations and self._act_scale is None:
            self._act_scale = self.compute_scale(x_rot)
        return self.quantized_matmul(x_rot, self._act_scale)


class BufferCloneDuQuantLinear(DuQuantLinear):
    """The hand-written "full fix": registered buffer, .clone(), and an initialised flag."""

    variant = "buffer-clone"

    def __init__(self, linear, config):
        super().__init__(linear, config)
        self.register_buffer("_act_scale", None)
        self._act_scale_initialized = False

    def forward(self, x):
        x_rot = self.transform_input(x)
        scale = None
        if self.config.quantize_activations:
            if not self._act_scale_initialized:
                self._act_scale = self.compute_scale(x_rot).clone()
                self._act_scale_initialized = True
            scale = self._act_scale.clone()
        return self.quantized_matmul(x_rot, scale)


class CalibratedDuQuantLinear(DuQuantLinear):
    """Scales computed by an explicit calibration pass before compiling; forward only reads."""

    variant = "calibrated"

    def __init__(self, linear, config):
        super().__init__(linear, config)
        self.register_buffer("_act_scale", torch.zeros(self.in_features))
        self.calibrated = False

    @torch.no_grad()
    def calibrate(self, batches) -> "CalibratedDuQuantLinear":
        """Freeze the activation scale from ``batches`` (an iterable of inputs)."""
        rows = [self.transform_input(b.to(self.weight_q.device)).reshape(-1, self.in_features)
                for b in batches]
        if not rows:
            raise ValueError("calibrate() needs at least one batch")
        self._act_scale.copy_(self.compute_scale(torch.cat(rows)))
        self.calibrated = True
        return self

    def forward(self, x):
        if not self.calibrated and self.config.quantize_activations:
            raise RuntimeError("CalibratedDuQuantLinear: call calibrate(batches) before forward")
        x_rot = self.transform_input(x)
        scale = self._act_scale if self.config.quantize_activations else None
        return self.quantized_matmul(x_rot, scale)


class WeightOnlyDuQuantLinear(BufferCloneDuQuantLinear):
    """The deployed (buffer-clone) layer with OPENPI_DUQUANT_ABITS=16: no activation scale."""

    variant = "weight-only"

    def __init__(self, linear, config):
        super().__init__(linear, config.replace(abits=16))
