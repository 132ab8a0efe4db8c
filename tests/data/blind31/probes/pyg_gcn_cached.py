"""torch_geometric GCNConv(cached=True): the normalised graph (edge_index + edge weights with self
loops) is computed on the first call and cached on the module for later calls."""
import torch
from torch_geometric.nn import GCNConv


def factory():
    torch.manual_seed(0)
    m = GCNConv(8, 8, cached=True)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5],
                               [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
    return m, (torch.randn(6, 8), edge_index)
