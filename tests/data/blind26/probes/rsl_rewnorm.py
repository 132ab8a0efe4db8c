"""rsl-rl EmpiricalDiscountedVariationNormalization (reward normaliser), training mode: a plain-object
discounted average plus running moments, updated inside forward."""
import torch
from rsl_rl.modules import EmpiricalDiscountedVariationNormalization


def factory():
    torch.manual_seed(0)
    m = EmpiricalDiscountedVariationNormalization(shape=1, gamma=0.99)
    m.train()
    return m, (torch.rand(8, 1) + 0.5,)
