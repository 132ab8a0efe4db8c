"""normflows ActNorm (Glow): data-dependent initialisation of s and t through `.data =` on the first batch."""
import torch
import normflows as nf


def factory():
    torch.manual_seed(0)
    m = nf.flows.ActNorm((6,))
    return m, (torch.randn(8, 6) * 2.0 + 1.0,)
