"""Sizes of the built-in pi0-shaped policy probe (probes/policy.py).

``pi0`` is the real policy of shared/REFERENCE.md sections 3 and 5 (openpi's gemma configs as
the fork's ``PaliGemmaWithExpertModel`` builds them): SigLIP So400m/14 vision tower, Gemma 2B
language model, Gemma 300M action expert, 3 cameras, 48 text tokens, horizon 50, action dim 32,
10 denoising steps. The other sizes keep its structure and shrink widths, depths and tokens.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class PolicySize:
    description: str
    images: int  # cameras, one embed_image call each; 0: no image tower at all
    image_size: int  # square image side, pixels
    patch_size: int  # SigLIP patch side: (image_size // patch_size) ** 2 tokens per image
    vision_blocks: int
    vision_width: int
    vision_mlp: int
    vision_heads: int
    lm_blocks: int  # the language model's layers (the expert reads its cache layer by layer)
    lm_width: int
    lm_mlp: int
    heads: int  # query heads of both Gemma towers
    head_dim: int
    expert_blocks: int
    expert_width: int
    expert_mlp: int
    text_tokens: int
    vocab: int
    action_horizon: int
    action_dim: int
    num_steps: int
    kv_heads: int = 1  # multi-query attention, as Gemma 2B / 300M

    def __post_init__(self):
        problems = []
        if self.lm_blocks != self.expert_blocks:
            problems.append("the expert needs as many blocks as the language model "
                            "(layer i attends to the prefix cache of layer i)")
        if self.image_size % self.patch_size:
            problems.append("image_size must be a multiple of patch_size")
        if self.vision_width % self.vision_heads:
            problems.append("vision_width must be a multiple of vision_heads")
        if self.heads % self.kv_heads:
            problems.append("heads must be a multiple of kv_heads")
        if self.head_dim % 2 or self.expert_width % 2:
            problems.append("head_dim and expert_width must be even (rotary / sinusoidal)")
        if self.images < 0:
            problems.append("images must be >= 0 (0: no image tower)")
        if min(self.num_steps, self.text_tokens, self.action_horizon) < 1:
            problems.append("num_steps, text_tokens and action_horizon must be >= 1")
        if problems:
            raise ValueError("PolicySize: " + "; ".join(problems))

    @property
    def patch_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def prefix_tokens(self) -> int:
        return self.images * self.patch_tokens + self.text_tokens

    @property
    def suffix_tokens(self) -> int:
        return 1 + self.action_horizon  # the state token, then the noisy actions

    def wrapped_shapes(self) -> list[tuple[str, int, int, int]]:
        """(tower.projection, in, out, layers) of every projection the fork wraps."""
        v, q, kv = self.vision_width, self.heads * self.head_dim, self.kv_heads * self.head_dim
        n_vision = self.vision_blocks if self.images else 0  # no cameras: no image tower
        rows = [(f"vision.{p}", v, v, n_vision) for p in ("q_proj", "k_proj", "v_proj",
                                                          "out_proj")]
        rows += [("vision.fc1", v, self.vision_mlp, n_vision),
                 ("vision.fc2", self.vision_mlp, v, n_vision)]
        for tower, w, mlp, n in (("lm", self.lm_width, self.lm_mlp, self.lm_blocks),
                                 ("expert", self.expert_width, self.expert_mlp,
                                  self.expert_blocks)):
            rows += [(f"{tower}.q_proj", w, q, n), (f"{tower}.k_proj", w, kv, n),
                     (f"{tower}.v_proj", w, kv, n), (f"{tower}.o_proj", q, w, n),
                     (f"{tower}.gate_proj", w, mlp, n), (f"{tower}.up_proj", w, mlp, n),
                     (f"{tower}.down_proj", mlp, w, n)]
        return rows

    @property
    def wrapped_layers(self) -> int:
        return sum(n for *_, n in self.wrapped_shapes())

    @property
    def layer_calls(self) -> int:
        """DuQuant layer calls in one policy call (the unrolled compiled graph holds them all)."""
        return (self.images * 6 * self.vision_blocks + 7 * self.lm_blocks
                + self.num_steps * 7 * self.expert_blocks)

    def check_block(self, block: int) -> None:
        """ValueError unless every wrapped layer's in and out are multiples of ``block``."""
        bad = [f"{name} {i}->{o}" for name, i, o, n in self.wrapped_shapes()
               if n and (i % block or o % block)]
        if bad:
            raise ValueError(f"block={block}: not a multiple of the block: {', '.join(bad)}")


# tiny leaves the image tower out (the prefix is the prompt alone) and keeps every tower at
# width 32: on 2 CPU cores its first compiled call (each DuQuant layer's weight cache and
# quantiles traced, then 10 unrolled steps) is what a diagnosis waits for; a camera and a
# wider language model added a third to it (docs/performance.md)
_TINY = dict(images=0, image_size=16, patch_size=4, vision_blocks=1, vision_width=32,
             vision_mlp=64, vision_heads=2, lm_blocks=1, lm_width=32, lm_mlp=64, heads=2,
             head_dim=16, expert_blocks=1, expert_width=32, expert_mlp=64, text_tokens=8,
             vocab=128, action_horizon=4, action_dim=32, num_steps=10)

POLICY_SIZES: dict[str, PolicySize] = {
    "tiny": PolicySize(
        description="fast CPU check: no camera, 1 block per tower, widths 32-64, 10 steps",
        **_TINY),
    "tiny-2x": PolicySize(
        description="tiny with twice the blocks in every tower (same widths and tokens)",
        **{**_TINY, "vision_blocks": 2, "lm_blocks": 2, "expert_blocks": 2}),
    "mid": PolicySize(
        description="GPU check between tiny and pi0: quarter widths, 4 blocks, 3 cameras",
        images=3, image_size=112, patch_size=14, vision_blocks=4, vision_width=288,
        vision_mlp=1088, vision_heads=4, lm_blocks=4, lm_width=512, lm_mlp=4096, heads=8,
        head_dim=64, expert_blocks=4, expert_width=256, expert_mlp=1024, text_tokens=24,
        vocab=4096, action_horizon=50, action_dim=32, num_steps=10),
    "pi0": PolicySize(
        description="the real pi0: SigLIP So400m/14, Gemma 2B + 300M, 3 cameras, 816 prefix "
                    "tokens, horizon 50, 10 steps (GPU only)",
        images=3, image_size=224, patch_size=14, vision_blocks=27, vision_width=1152,
        vision_mlp=4304, vision_heads=16, lm_blocks=18, lm_width=2048, lm_mlp=16384, heads=8,
        head_dim=256, expert_blocks=18, expert_width=1024, expert_mlp=4096, text_tokens=48,
        vocab=257152, action_horizon=50, action_dim=32, num_steps=10),
}


def policy_size(name: str) -> PolicySize:
    if name not in POLICY_SIZES:
        raise ValueError(f"unknown policy size {name!r}: expected one of "
                         f"{', '.join(POLICY_SIZES)}")
    return POLICY_SIZES[name]
