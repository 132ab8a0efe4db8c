"""torch_geometric Linear(-1, 8): lazily initialised weight (UninitializedParameter materialised by a
forward pre-hook on the first call, which then removes itself)."""
import torch
import torch_geometric.nn as gnn


def factory():
    torch.manual_seed(0)
    m = gnn.Linear(-1, 8)
    return m, (torch.randn(4, 12),)
