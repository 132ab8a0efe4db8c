"""rl_games RunningMeanStd in training mode (observation normaliser of a PPO policy)."""
import torch
from rl_games.algos_torch.running_mean_std import RunningMeanStd


def factory():
    torch.manual_seed(0)
    m = RunningMeanStd(6)
    m.train()
    return m, (torch.randn(32, 6),)
