"""rl_games TwoHotEncodedValue: stores this call's distribution in self.distr, then reads it."""
import torch
from rl_games.common.layers.value import TwoHotEncodedValue


def factory():
    torch.manual_seed(0)
    m = TwoHotEncodedValue(8, 1)
    return m, (torch.randn(4, 8),)
