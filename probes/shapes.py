"""Layer shapes: presets for fast tests and for the real pi0 projections (tokens, in, out)."""
from __future__ import annotations

import re
from typing import NamedTuple


class Shape(NamedTuple):
    tokens: int
    in_features: int
    out_features: int

    def __str__(self) -> str:
        return f"{self.tokens}x{self.in_features}x{self.out_features}"


# pi0: the action expert (Gemma 300M) sees ~51 tokens (50 actions + state); the PaliGemma 2B
# prefix is ~816 tokens (3 images x 256 + text). Projections from REFERENCE.md section 3.
PRESETS: dict[str, tuple[Shape, str]] = {
    "tiny": (Shape(16, 64, 64), "fast CPU tests"),
    "gemma-300m": (Shape(51, 1024, 4096), "action expert gate/up projection"),
    "gemma-300m-q": (Shape(51, 1024, 2048), "action expert q projection"),
    "gemma-300m-kv": (Shape(51, 1024, 256), "action expert k/v projection"),
    "gemma-300m-o": (Shape(51, 2048, 1024), "action expert o projection"),
    "gemma-300m-down": (Shape(51, 4096, 1024), "action expert down projection"),
    "gemma-2b": (Shape(816, 2048, 16384), "PaliGemma gate/up projection"),
    "gemma-2b-q": (Shape(816, 2048, 2048), "PaliGemma q/o projection"),
    "gemma-2b-kv": (Shape(816, 2048, 256), "PaliGemma k/v projection"),
    "gemma-2b-down": (Shape(816, 16384, 2048), "PaliGemma down projection"),
    "siglip": (Shape(256, 1152, 1152), "SigLIP So400m q/k/v/out projection (one image)"),
    "siglip-fc1": (Shape(256, 1152, 4304), "SigLIP So400m fc1"),
    "siglip-fc2": (Shape(256, 4304, 1152), "SigLIP So400m fc2"),
}

_CUSTOM = re.compile(r"^(\d+)x(\d+)x(\d+)$")


def parse_shape(text: str, block: int = 1) -> Shape:
    """A preset name or TOKENSxINxOUT; raises ValueError with what is accepted."""
    text = text.strip()
    if text in PRESETS:
        shape = PRESETS[text][0]
    else:
        m = _CUSTOM.match(text.lower())
        if not m:
            raise ValueError(
                f"shape {text!r}: expected a preset ({', '.join(PRESETS)}) or TOKENSxINxOUT, "
                "e.g. 16x64x64"
            )
        shape = Shape(*(int(g) for g in m.groups()))
    if min(shape) < 1:
        raise ValueError(f"shape {text!r}: every dimension must be at least 1")
    for name, n in (("IN", shape.in_features), ("OUT", shape.out_features)):
        if n % block:
            raise ValueError(f"shape {text!r}: {name}={n} is not a multiple of block={block}")
    return shape


# The policy the layer is deployed in, as the fork compiles it (REFERENCE.md sections 3 and 5):
# per tower, its layer count, the presets of its wrapped linears, and how many times one call
# of the sampling function traces the tower (3 camera images; the prefix once; 10 denoise
# steps through the expert: dynamo unrolls the loop).
POLICY: dict[str, tuple[int, tuple[str, ...], int]] = {
    "SigLIP vision tower": (27, ("siglip", "siglip", "siglip", "siglip", "siglip-fc1",
                                 "siglip-fc2"), 3),
    "PaliGemma 2B": (18, ("gemma-2b-q", "gemma-2b-kv", "gemma-2b-kv", "gemma-2b-q", "gemma-2b",
                          "gemma-2b", "gemma-2b-down"), 1),
    "action expert 300M": (18, ("gemma-300m-q", "gemma-300m-kv", "gemma-300m-kv",
                                "gemma-300m-o", "gemma-300m", "gemma-300m", "gemma-300m-down"),
                           10),
}
