"""torchao AffineQuantizedMinMaxObserver (per-axis, uint8 asymmetric): min/max created lazily on the
first call (hasattr), then updated in place."""
import torch
from torchao.quantization.granularity import PerAxis
from torchao.quantization.observer import AffineQuantizedMinMaxObserver
from torchao.quantization.quant_primitives import MappingType


def factory():
    torch.manual_seed(0)
    m = AffineQuantizedMinMaxObserver(MappingType.ASYMMETRIC, torch.uint8, granularity=PerAxis(axis=1),
                                      eps=torch.finfo(torch.float32).eps, scale_dtype=torch.float32,
                                      zero_point_dtype=torch.int32)
    return m, (torch.randn(8, 6),)
