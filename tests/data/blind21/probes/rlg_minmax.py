"""rl_games GeneralizedMovingStats(impl='min_max') in training: moving min/max updated in place."""
import torch
from rl_games.algos_torch.moving_mean_std import GeneralizedMovingStats


def factory():
    torch.manual_seed(0)
    m = GeneralizedMovingStats(6, impl="min_max", decay=0.9)
    m.train()
    return m, (torch.randn(32, 6),)
