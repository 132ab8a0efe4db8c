"""ema-pytorch EMA in a hand-written train/eval step: the step runs the online model (Linear + BatchNorm1d
in train, running stats updated), then ema.update(), and returns the EMA model's output, as a training
loop that keeps an EMA shadow does. EMA(beta=0.9, update_after_step=2, update_every=1)."""
import torch
from ema_pytorch import EMA


class EMAStep(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.online = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.BatchNorm1d(4))
        self.ema = EMA(self.online, beta=0.9, update_after_step=2, update_every=1)

    def forward(self, x):
        self.online(x)
        self.ema.update()
        return self.ema.ema_model(x)


def factory():
    torch.manual_seed(0)
    m = EMAStep().train()
    return m, (torch.randn(6, 8),)
