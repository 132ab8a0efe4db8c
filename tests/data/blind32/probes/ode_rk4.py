"""torchdiffeq odeint with the fixed-step rk4 solver in a neural-ODE block: dy/dt = tanh(Linear(y)),
integrated over t = linspace(0, 1, 3) (buffer); returns y(1). input (4, 8)."""
import torch
from torchdiffeq import odeint


class Func(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, t, y):
        return torch.tanh(self.lin(y))


class ODEBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.func = Func()
        self.register_buffer("t", torch.linspace(0.0, 1.0, 3))

    def forward(self, x):
        return odeint(self.func, x, self.t, method="rk4")[-1]


def factory():
    torch.manual_seed(0)
    return ODEBlock(), (torch.randn(4, 8),)
