"""brevitas QuantLinear (int8 per-tensor weight fake-quant, dependency-injected quantiser proxies), eval."""
import torch
import brevitas.nn as qnn


def factory():
    torch.manual_seed(0)
    m = qnn.QuantLinear(16, 8, bias=True)
    m.eval()
    return m, (torch.randn(4, 16),)
