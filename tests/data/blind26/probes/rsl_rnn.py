"""rsl-rl RNN (GRU) of a recurrent actor: inference mode keeps the hidden state on the module."""
import torch
from rsl_rl.modules import RNN


def factory():
    torch.manual_seed(0)
    m = RNN(input_size=8, hidden_dim=16, num_layers=1, type="gru")
    m.eval()
    return m, (torch.randn(4, 8),)
