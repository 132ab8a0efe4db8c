"""rsl-rl EmpiricalNormalization (observation normaliser), training mode: forward only normalises
(the statistics are updated by update(), which the algorithm calls, not forward)."""
import torch
from rsl_rl.modules import EmpiricalNormalization


def factory():
    torch.manual_seed(0)
    m = EmpiricalNormalization(shape=6)
    m.train()
    return m, (torch.randn(8, 6),)
